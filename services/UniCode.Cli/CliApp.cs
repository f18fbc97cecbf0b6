using UniCode.Cli.CommandLine;
using UniCode.Cli.Commands;
using UniCode.Cli.Commands.Results;

namespace UniCode.Cli;

/// <summary>The `unicode` command set (Program.cs only wires Ctrl+C and the exit code).</summary>
public static class CliApp
{
    public static CommandRouter Router { get; } = new(
        [
            SynthCommand.Spec,
            RunCommand.Spec,
            BenchScienceCommand.Spec,
            CodebookCommand.Spec,
            BenchCommand.Spec,
            MigrateCommand.Spec,
            Commands.Pipeline.PipelineCommands.SubmitChain,
            Commands.Pipeline.PipelineCommands.SubmitGrid,
            Commands.Pipeline.PipelineCommands.Status,
            Commands.Pipeline.PipelineCommands.Cancel,
            ResultsCommand.Spec,
            CompareCommand.Spec,
            ExportCommand.Spec,
            CheckpointsCommand.Spec,
        ],
        """
        unicode — Uni-Code (NeurIPS 2023) cross-modal generalization: pre-train one discrete codebook shared by
        audio, video and text, train a downstream head on one modality's codes, test it zero-shot on another.
        """);
}
