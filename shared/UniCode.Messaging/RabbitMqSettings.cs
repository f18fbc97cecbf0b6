using System.Globalization;
using UniCode.Settings;

namespace UniCode.Messaging;

/// <summary>
/// The broker and the bus conventions of one host. Connection values come from UNICODE_RABBITMQ_*;
/// the rest are per-host choices (a trainer host uses <c>settings with { PrefetchCount = 1 }</c>). Hosts read it as
/// options (<see cref="SettingsBinding.AddSettings{T}"/>, validated on start); the command line from its environment.
/// </summary>
/// <param name="Host">Broker host name or address (UNICODE_RABBITMQ_HOST).</param>
/// <param name="Port">AMQP port (UNICODE_RABBITMQ_PORT).</param>
/// <param name="VirtualHost">RabbitMQ virtual host (UNICODE_RABBITMQ_VHOST).</param>
/// <param name="Username">User (UNICODE_RABBITMQ_USER).</param>
/// <param name="Password">Password (UNICODE_RABBITMQ_PASS).</param>
public sealed record RabbitMqSettings(string Host, int Port, string VirtualHost, string Username, string Password) : ISettings<RabbitMqSettings>
{
    public const string HostVariable = "UNICODE_RABBITMQ_HOST";
    public const string PortVariable = "UNICODE_RABBITMQ_PORT";
    public const string VirtualHostVariable = "UNICODE_RABBITMQ_VHOST";
    public const string UserVariable = "UNICODE_RABBITMQ_USER";
    public const string PasswordVariable = "UNICODE_RABBITMQ_PASS";

    /// <summary>Optional: prepended to every queue and exchange name (<see cref="Prefix"/>); read by every process, services and CLI alike.</summary>
    public const string PrefixVariable = "UNICODE_BUS_PREFIX";

    /// <summary>Optional: seconds a transient failure (database or broker restarting) is retried for (default 180).</summary>
    public const string RetryWindowVariable = "UNICODE_RETRY_WINDOW_SECONDS";

    /// <summary>How long transient failures are retried by default: long enough to ride out a database or broker restart.</summary>
    public static readonly TimeSpan DefaultRetryWindow = TimeSpan.FromMinutes(3);

    public static IReadOnlyList<string> Variables { get; } =
        [HostVariable, PortVariable, VirtualHostVariable, UserVariable, PasswordVariable];

    /// <summary>
    /// Messages each receive endpoint fetches ahead. Trainer hosts use 1, so a long job never holds
    /// a second one that another idle trainer could have started.
    /// </summary>
    public ushort PrefetchCount { get; init; } = 16;

    /// <summary>
    /// Prepended to every queue and exchange name ("{prefix}-queue", "{prefix}.Namespace:Type"), to
    /// keep one environment or test run apart from the others in a shared virtual host. Null: none.
    /// </summary>
    public string? Prefix { get; init; }

    /// <summary>
    /// Waits between in-process retries of a transient failure; the count is the number of retries. Default:
    /// <see cref="Backoff"/> over <see cref="DefaultRetryWindow"/> (0.5 s doubling to 30 s, 3 minutes in all), so a
    /// consumer rides out a PostgreSQL or RabbitMQ restart instead of dead-lettering its message.
    /// </summary>
    public IReadOnlyList<TimeSpan> RetryIntervals { get; init; } = Backoff(DefaultRetryWindow);

    /// <summary>The total of <see cref="RetryIntervals"/>: how long a transient failure is retried before it counts.</summary>
    public TimeSpan RetryWindow => RetryIntervals.Aggregate(TimeSpan.Zero, (sum, i) => sum + i);

    /// <summary>
    /// Waits of 0.5 s, doubling up to 30 s each, until they add up to at least <paramref name="window"/> (none for a
    /// zero window).
    /// </summary>
    public static IReadOnlyList<TimeSpan> Backoff(TimeSpan window)
    {
        var waits = new List<TimeSpan>();
        var next = TimeSpan.FromMilliseconds(500);
        for (var sum = TimeSpan.Zero; sum < window; sum += waits[^1])
        {
            waits.Add(next < window - sum ? next : window - sum);
            next = TimeSpan.FromTicks(Math.Min(next.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
        }
        return waits;
    }

    /// <summary>Reads UNICODE_RABBITMQ_HOST, _PORT, _VHOST, _USER and _PASS, and the optional UNICODE_BUS_PREFIX and UNICODE_RETRY_WINDOW_SECONDS, from the process environment.</summary>
    public static RabbitMqSettings FromEnvironment() => FromEnvironment(Environment.GetEnvironmentVariable);

    /// <summary>Reads the variables through <paramref name="lookup"/> (a host's configuration; tests pass a dictionary).</summary>
    /// <exception cref="InvalidOperationException">A variable is missing, or the port is not a number in 1..65535.</exception>
    public static RabbitMqSettings FromEnvironment(Func<string, string?> lookup)
    {
        var missing = Variables.Where(v => string.IsNullOrWhiteSpace(lookup(v))).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidOperationException(
                $"RabbitMQ settings: {string.Join(", ", missing)} {(missing.Count == 1 ? "is" : "are")} not set " +
                $"(the bus needs all of {string.Join(", ", Variables)}). " +
                "For the local servers run `make services-up`, then `source .local-services/connection.env`.");
        }
        var portText = lookup(PortVariable)!;
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            throw new InvalidOperationException($"RabbitMQ settings: {PortVariable} is '{portText}'; expected a TCP port number in 1..65535 (e.g. 5672).");
        var settings = new RabbitMqSettings(lookup(HostVariable)!, port, lookup(VirtualHostVariable)!, lookup(UserVariable)!, lookup(PasswordVariable)!);
        if (lookup(PrefixVariable)?.Trim() is { Length: > 0 } prefix)
        {
            if (!prefix.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
                throw new InvalidOperationException($"{PrefixVariable} is '{prefix}'; expected letters, digits, '-' or '_' (it becomes part of queue names)");
            settings = settings with { Prefix = prefix };
        }
        if (lookup(RetryWindowVariable) is { } windowText && !string.IsNullOrWhiteSpace(windowText))
        {
            if (!double.TryParse(windowText.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || !double.IsFinite(seconds) || seconds is < 0 or > 86_400)
                throw new InvalidOperationException($"{RetryWindowVariable} is '{windowText}'; expected seconds in 0..86400 (0 = no retries), e.g. 180");
            settings = settings with { RetryIntervals = Backoff(TimeSpan.FromSeconds(seconds)) };
        }
        return settings;
    }

    /// <summary>amqp://user@host:port/vhost, without the password (for logs).</summary>
    public string Describe() => $"amqp://{Username}@{Host}:{Port}/{Uri.EscapeDataString(VirtualHost)}";

    /// <summary>Value equality, including the retry intervals element by element.</summary>
    public bool Equals(RabbitMqSettings? other) =>
        other is not null
        && (Host, Port, VirtualHost, Username, Password, PrefetchCount, Prefix) ==
           (other.Host, other.Port, other.VirtualHost, other.Username, other.Password, other.PrefetchCount, other.Prefix)
        && RetryIntervals.SequenceEqual(other.RetryIntervals);

    public override int GetHashCode() => HashCode.Combine(Host, Port, VirtualHost, Username, Password, PrefetchCount, Prefix, RetryIntervals.Count);

    /// <summary>Never prints the password.</summary>
    public override string ToString() =>
        $"RabbitMqSettings {{ {Describe()}, PrefetchCount = {PrefetchCount}, Prefix = {Prefix ?? "(none)"} }}";
}
