using UniCode.Cli;

namespace UniCode.Results.Tests.Infrastructure;

/// <summary>Runs `unicode ARGS` in process with stdout and stderr captured (as tests/UniCode.Cli.Tests does).</summary>
public static class Cli
{
    private static readonly Lock ConsoleGate = new();

    public static (int Code, string Out, string Err) Unicode(params string[] args)
    {
        lock (ConsoleGate)
        {
            var (stdout, stderr) = (Console.Out, Console.Error);
            using var o = new StringWriter();
            using var e = new StringWriter();
            Console.SetOut(o);
            Console.SetError(e);
            try
            {
                var code = CliApp.Router.Run(args, CancellationToken.None);
                return (code, o.ToString(), e.ToString());
            }
            finally
            {
                Console.SetOut(stdout);
                Console.SetError(stderr);
            }
        }
    }

    /// <summary>Lines of simple CSV (no quoted commas), split into fields.</summary>
    public static List<string[]> Csv(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r').Split(',')).ToList();
}
