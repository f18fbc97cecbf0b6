using UniCode.Messaging;
using UniCode.Persistence;

namespace UniCode.Integration.Tests.Messaging;

public sealed class SettingsTests
{
    private static Func<string, string?> Env(Dictionary<string, string> values) => name => values.GetValueOrDefault(name);

    [Fact]
    public void RabbitMq_settings_are_read_from_the_five_variables()
    {
        var settings = RabbitMqSettings.FromEnvironment(Env(new()
        {
            ["UNICODE_RABBITMQ_HOST"] = "10.0.0.5", ["UNICODE_RABBITMQ_PORT"] = "5673", ["UNICODE_RABBITMQ_VHOST"] = "unicode",
            ["UNICODE_RABBITMQ_USER"] = "svc", ["UNICODE_RABBITMQ_PASS"] = "hunter2",
        }));

        Assert.Equal(new RabbitMqSettings("10.0.0.5", 5673, "unicode", "svc", "hunter2"), settings);
        Assert.Equal(16, settings.PrefetchCount);
        Assert.Null(settings.Prefix);
        Assert.DoesNotContain("hunter2", settings.ToString());
        Assert.Equal("amqp://svc@10.0.0.5:5673/unicode", settings.Describe());
        Assert.Equal(settings with { RetryIntervals = RabbitMqSettings.Backoff(TimeSpan.FromMinutes(3)) }, settings);   // rides out a restart
        Assert.Equal(TimeSpan.FromMinutes(3), settings.RetryWindow);
        Assert.NotEqual(settings with { RetryIntervals = [TimeSpan.FromSeconds(1)] }, settings);
        Assert.NotEqual(settings with { PrefetchCount = 1 }, settings);
    }

    [Theory]
    [InlineData("dev", "dev")]
    [InlineData(" team-a_2 ", "team-a_2")]
    [InlineData("", null)]
    public void The_bus_prefix_is_read_with_the_other_bus_variables_by_every_process(string value, string? expected)
    {
        // One reader for services, job services, the orchestrator and the CLI: a prefix set for one is set for all.
        var settings = RabbitMqSettings.FromEnvironment(Env(new()
        {
            ["UNICODE_RABBITMQ_HOST"] = "h", ["UNICODE_RABBITMQ_PORT"] = "5672", ["UNICODE_RABBITMQ_VHOST"] = "v",
            ["UNICODE_RABBITMQ_USER"] = "u", ["UNICODE_RABBITMQ_PASS"] = "p", ["UNICODE_BUS_PREFIX"] = value,
        }));
        Assert.Equal(expected, settings.Prefix);
    }

    [Fact]
    public void A_bus_prefix_that_cannot_be_part_of_a_queue_name_is_named()
    {
        var e = Assert.Throws<InvalidOperationException>(() => RabbitMqSettings.FromEnvironment(Env(new()
        {
            ["UNICODE_RABBITMQ_HOST"] = "h", ["UNICODE_RABBITMQ_PORT"] = "5672", ["UNICODE_RABBITMQ_VHOST"] = "v",
            ["UNICODE_RABBITMQ_USER"] = "u", ["UNICODE_RABBITMQ_PASS"] = "p", ["UNICODE_BUS_PREFIX"] = "a/b",
        })));
        Assert.Equal("UNICODE_BUS_PREFIX is 'a/b'; expected letters, digits, '-' or '_' (it becomes part of queue names)", e.Message);
    }

    [Fact]
    public void Missing_RabbitMq_variables_are_named_with_how_to_get_them()
    {
        var e = Assert.Throws<InvalidOperationException>(() => RabbitMqSettings.FromEnvironment(Env(new()
        {
            ["UNICODE_RABBITMQ_PORT"] = "5672", ["UNICODE_RABBITMQ_VHOST"] = "unicode", ["UNICODE_RABBITMQ_USER"] = "unicode",
        })));

        Assert.Equal(
            "RabbitMQ settings: UNICODE_RABBITMQ_HOST, UNICODE_RABBITMQ_PASS are not set (the bus needs all of " +
            "UNICODE_RABBITMQ_HOST, UNICODE_RABBITMQ_PORT, UNICODE_RABBITMQ_VHOST, UNICODE_RABBITMQ_USER, UNICODE_RABBITMQ_PASS). " +
            "For the local servers run `make services-up`, then `source .local-services/connection.env`.",
            e.Message);
    }

    [Theory]
    [InlineData("amqp")]
    [InlineData("0")]
    [InlineData("70000")]
    [InlineData("-1")]
    public void A_bad_RabbitMq_port_is_named_with_the_expected_range(string port)
    {
        var e = Assert.Throws<InvalidOperationException>(() => RabbitMqSettings.FromEnvironment(Env(new()
        {
            ["UNICODE_RABBITMQ_HOST"] = "h", ["UNICODE_RABBITMQ_PORT"] = port, ["UNICODE_RABBITMQ_VHOST"] = "v",
            ["UNICODE_RABBITMQ_USER"] = "u", ["UNICODE_RABBITMQ_PASS"] = "p",
        })));

        Assert.Equal($"RabbitMQ settings: UNICODE_RABBITMQ_PORT is '{port}'; expected a TCP port number in 1..65535 (e.g. 5672).", e.Message);
    }

    [Fact]
    public void Missing_UNICODE_PG_says_what_it_holds_and_how_to_get_it()
    {
        var e = Assert.Throws<InvalidOperationException>(() => DatabaseSettings.FromEnvironment(Env([])));

        Assert.Equal(
            "UNICODE_PG is not set: it must hold the Npgsql connection string of the results database " +
            "(e.g. Host=127.0.0.1;Port=5432;Database=unicode;Username=unicode;Password=...). " +
            "For the local servers run `make services-up`, then `source .local-services/connection.env`.",
            e.Message);
    }

    [Fact]
    public void UNICODE_PG_must_be_a_connection_string_and_its_password_is_never_printed()
    {
        var bad = Assert.Throws<InvalidOperationException>(() => DatabaseSettings.FromEnvironment(Env(new() { ["UNICODE_PG"] = "postgresql://u:p@h/db" })));
        Assert.StartsWith("UNICODE_PG is not a valid Npgsql connection string (", bad.Message);

        var settings = DatabaseSettings.FromEnvironment(Env(new() { ["UNICODE_PG"] = "Host=db;Port=5433;Database=unicode;Username=svc;Password=hunter2" }));
        Assert.Equal("db:5433/unicode as svc", settings.Describe());
        Assert.DoesNotContain("hunter2", settings.ToString());
    }

    [Fact]
    public void Transient_errors_are_timeouts_network_and_transient_database_errors_only()
    {
        Assert.True(TransientErrors.IsTransient(new TimeoutException()));
        Assert.True(TransientErrors.IsTransient(new System.Net.Sockets.SocketException()));
        Assert.True(TransientErrors.IsTransient(new TransientException("GPU busy")));
        Assert.True(TransientErrors.IsTransient(new InvalidOperationException("wrapped", new TimeoutException())));
        Assert.True(TransientErrors.IsTransient(new AggregateException(new ArgumentException(), new TimeoutException())));
        Assert.True(TransientErrors.IsTransient(new Npgsql.PostgresException("deadlock", "ERROR", "ERROR", Npgsql.PostgresErrorCodes.DeadlockDetected)));

        Assert.False(TransientErrors.IsTransient(new ArgumentException("bad config")));
        Assert.False(TransientErrors.IsTransient(new FileNotFoundException("missing.npy")));
        Assert.False(TransientErrors.IsTransient(new OperationCanceledException("stop", new TimeoutException())));
        Assert.False(TransientErrors.IsTransient(new Npgsql.PostgresException("dup", "ERROR", "ERROR", Npgsql.PostgresErrorCodes.UniqueViolation)));
    }
}
