using UniCode.Cli.CommandLine;
using UniCode.Cli.Commands;

using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // First Ctrl+C asks the running command to stop at its next step (checkpoints stay consistent).
    e.Cancel = true;
    cts.Cancel();
    Console.Error.WriteLine("unicode: stopping after the current step (Ctrl+C again to kill)…");
};

var router = new CommandRouter(
    [
        SynthCommand.Spec,
        RunCommand.Spec,
        BenchScienceCommand.Spec,
        CodebookCommand.Spec,
        BenchCommand.Spec,
        MigrateCommand.Spec,
    ],
    """
    unicode — Uni-Code (NeurIPS 2023) cross-modal generalization: pre-train one discrete codebook shared by
    audio, video and text, train a downstream head on one modality's codes, test it zero-shot on another.
    """);
try
{
    return router.Run(args, cts.Token);
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("unicode: cancelled");
    return 130;
}
