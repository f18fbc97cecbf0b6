using System.Globalization;
using System.Text;

namespace UniCode.Cli.CommandLine;

/// <summary>An option of a command: <c>--name VALUE</c>, or a flag <c>--name</c>.</summary>
public sealed record OptionSpec(string Name, string Help, string? Default = null, bool Flag = false, bool Required = false, string Value = "VALUE");

/// <summary>A sub-command of <c>unicode</c>.</summary>
public sealed record CommandSpec(string Name, string Summary, IReadOnlyList<OptionSpec> Options, Func<ParsedArgs, CancellationToken, int> Run, string? Details = null)
{
    public string Help()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"unicode {Name}: {Summary}");
        sb.AppendLine();
        sb.AppendLine($"usage: unicode {Name}{(Options.Count > 0 ? " [options]" : "")}");
        if (Details is not null)
        {
            sb.AppendLine();
            sb.AppendLine(Details.TrimEnd());
        }
        if (Options.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("options:");
            var width = Options.Max(o => OptionLabel(o).Length) + 2;
            foreach (var o in Options)
            {
                var extra = o.Required ? " (required)" : o.Default is not null ? $" (default: {o.Default})" : "";
                sb.AppendLine($"  {OptionLabel(o).PadRight(width)}{o.Help}{extra}");
            }
        }
        sb.AppendLine($"  {"--help".PadRight(Math.Max(8, Options.Count > 0 ? Options.Max(o => OptionLabel(o).Length) + 2 : 8))}show this help");
        return sb.ToString();
    }

    private static string OptionLabel(OptionSpec o) => o.Flag ? $"--{o.Name}" : $"--{o.Name} {o.Value}";
}

/// <summary>A usage error: printed with a pointer to <c>--help</c>, exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>The options given to a command, with defaults applied, and typed getters whose errors name the option and the expected value.</summary>
public sealed class ParsedArgs
{
    private readonly CommandSpec command;
    private readonly Dictionary<string, string?> values;

    private ParsedArgs(CommandSpec command, Dictionary<string, string?> values)
    {
        this.command = command;
        this.values = values;
    }

    public static ParsedArgs Parse(CommandSpec command, IReadOnlyList<string> args)
    {
        var byName = command.Options.ToDictionary(o => o.Name, StringComparer.Ordinal);
        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal))
                throw new UsageException($"unexpected argument '{a}' for 'unicode {command.Name}' (options start with --)");
            var name = a[2..];
            string? inline = null;
            var eq = name.IndexOf('=');
            if (eq >= 0) { inline = name[(eq + 1)..]; name = name[..eq]; }
            if (!byName.TryGetValue(name, out var spec))
                throw new UsageException($"unknown option '--{name}' for 'unicode {command.Name}'");
            if (values.ContainsKey(name)) throw new UsageException($"option '--{name}' given twice");
            if (spec.Flag)
            {
                values[name] = inline ?? "true";
                continue;
            }
            if (inline is null)
            {
                if (i + 1 >= args.Count) throw new UsageException($"option '--{name}' needs a value ({spec.Value})");
                inline = args[++i];
            }
            values[name] = inline;
        }
        foreach (var o in command.Options)
        {
            if (values.ContainsKey(o.Name)) continue;
            if (o.Required) throw new UsageException($"option '--{o.Name}' is required for 'unicode {command.Name}'");
            if (o.Default is not null && !o.Flag) values[o.Name] = o.Default;
        }
        return new ParsedArgs(command, values);
    }

    private OptionSpec Spec(string name) =>
        command.Options.FirstOrDefault(o => o.Name == name) ?? throw new InvalidOperationException($"'{command.Name}' declares no option '{name}'");

    public bool Has(string name) { Spec(name); return values.ContainsKey(name); }

    /// <summary>Whether the command declares option <paramref name="name"/> at all (shared option parsers use it).</summary>
    public bool Declares(string name) => command.Options.Any(o => o.Name == name);

    public bool Flag(string name)
    {
        Spec(name);
        if (!values.TryGetValue(name, out var v)) return false;
        return v switch
        {
            "true" or "1" or "yes" => true,
            "false" or "0" or "no" => false,
            _ => throw new UsageException($"option '--{name}' = '{v}': expected true or false"),
        };
    }

    public string? String(string name) { Spec(name); return values.GetValueOrDefault(name); }

    public string Required(string name) => String(name) ?? throw new UsageException($"option '--{name}' is required");

    public int? Int(string name) => Number<int>(name, s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null, "an integer");

    public long? Long(string name) => Number<long>(name, s => long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null, "an integer");

    public double? Double(string name) => Number<double>(name, s => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null, "a number");

    /// <summary>A comma-separated list, e.g. <c>--seeds 1,2,3</c>.</summary>
    public IReadOnlyList<string> List(string name) =>
        String(name) is { } s ? s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : [];

    public T Enum<T>(string name) where T : struct, System.Enum
    {
        var s = Required(name);
        var normalised = s.Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal);
        return System.Enum.TryParse<T>(normalised, ignoreCase: true, out var v) && System.Enum.IsDefined(v)
            ? v
            : throw new UsageException($"option '--{name}' = '{s}': expected one of {string.Join(", ", System.Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))}");
    }

    private T? Number<T>(string name, Func<string, T?> parse, string expected) where T : struct
    {
        var s = String(name);
        if (s is null) return null;
        return parse(s) ?? throw new UsageException($"option '--{name}' = '{s}': expected {expected}");
    }
}

/// <summary>Dispatches <c>unicode COMMAND [options]</c>, prints help, and turns usage errors into exit code 2.</summary>
public sealed class CommandRouter(IReadOnlyList<CommandSpec> commands, string description)
{
    public int Run(string[] args, CancellationToken cancellationToken)
    {
        if (args.Length == 0 || args[0] is "--help" or "-h" or "help")
        {
            Console.WriteLine(Help());
            return args.Length == 0 ? 2 : 0;
        }
        // Two-word commands ("submit chain") first, then one-word ones.
        var words = 1;
        var command = args.Length > 1 ? commands.FirstOrDefault(c => c.Name == $"{args[0]} {args[1]}") : null;
        if (command is not null) words = 2;
        else command = commands.FirstOrDefault(c => c.Name == args[0]);
        if (command is null)
        {
            var family = commands.Where(c => c.Name.StartsWith(args[0] + " ", StringComparison.Ordinal)).Select(c => c.Name).ToList();
            Console.Error.WriteLine(family.Count > 0
                ? $"unicode: '{args[0]}' needs a sub-command: {string.Join(", ", family)}. See 'unicode --help'."
                : $"unicode: unknown command '{args[0]}'. Commands: {string.Join(", ", commands.Select(c => c.Name))}. See 'unicode --help'.");
            return 2;
        }
        var rest = args.Skip(words).ToList();
        if (rest.Contains("--help") || rest.Contains("-h"))
        {
            Console.WriteLine(command.Help());
            return 0;
        }
        try
        {
            return command.Run(ParsedArgs.Parse(command, rest), cancellationToken);
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"unicode {command.Name}: {e.Message}. See 'unicode {command.Name} --help'.");
            return 2;
        }
        catch (Exception e) when (e is not OperationCanceledException && Environment.GetEnvironmentVariable("UNICODE_DEBUG") is null)
        {
            // Bad data, configs and checkpoints carry messages that name the file, field and expected value;
            // a stack trace adds nothing for the user (UNICODE_DEBUG=1 shows it).
            Console.Error.WriteLine($"unicode {command.Name}: error: {e.Message}");
            return 1;
        }
    }

    public string Help()
    {
        var sb = new StringBuilder();
        sb.AppendLine(description.TrimEnd());
        sb.AppendLine();
        sb.AppendLine("usage: unicode COMMAND [options]      unicode COMMAND --help");
        sb.AppendLine();
        sb.AppendLine("commands:");
        var width = commands.Max(c => c.Name.Length) + 2;
        foreach (var c in commands) sb.AppendLine($"  {c.Name.PadRight(width)}{c.Summary}");
        return sb.ToString();
    }
}
