using System.Diagnostics;
using UniCode.Experiments;

namespace UniCode.Cli.Commands;

/// <summary>
/// Shows an experiment's progress on stderr: a live bar on a terminal, and plain lines (at most one
/// every few seconds per phase) when stderr is redirected, so logs stay readable.
/// </summary>
public sealed class ProgressPrinter(string prefix)
{
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly bool terminal = !Console.IsErrorRedirected;
    private string lastPhase = "";
    private double lastLine = double.NegativeInfinity;
    private bool barOpen;

    public void Report(ExperimentProgress p)
    {
        if (p.Phase == ExperimentProgress.Notice)
        {
            // a message to read, not a step: its own line, kept
            if (barOpen) Console.Error.WriteLine();
            barOpen = false;
            Console.Error.WriteLine($"{prefix}notice: {p.Message}");
            return;
        }
        var t = clock.Elapsed.TotalSeconds;
        var phaseChanged = p.Phase != lastPhase;
        if (terminal)
        {
            const int width = 24;
            var filled = (int)Math.Round(Math.Clamp(p.Fraction, 0, 1) * width);
            var bar = new string('█', filled) + new string('·', width - filled);
            if (phaseChanged && barOpen) Console.Error.WriteLine();
            var line = $"\r{prefix}{p.Phase,-9} [{bar}] {100 * p.Fraction,5:F1}%  {p.Message}";
            Console.Error.Write(line.Length > 160 ? line[..160] : line.PadRight(160));
            barOpen = true;
        }
        else if (phaseChanged || t - lastLine >= 5 || p.Fraction >= 1)
        {
            Console.Error.WriteLine($"{prefix}[{t,6:F0}s] {p.Phase}: {p.Message}");
            lastLine = t;
        }
        lastPhase = p.Phase;
    }

    public void Done()
    {
        if (barOpen) Console.Error.WriteLine();
        barOpen = false;
    }
}
