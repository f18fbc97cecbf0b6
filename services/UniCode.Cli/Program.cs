using UniCode.Cli;

using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // First Ctrl+C asks the running command to stop at its next step (checkpoints stay consistent).
    e.Cancel = true;
    cts.Cancel();
    Console.Error.WriteLine("unicode: stopping after the current step (Ctrl+C again to kill)…");
};

try
{
    return CliApp.Router.Run(args, cts.Token);
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("unicode: cancelled");
    return 130;
}
