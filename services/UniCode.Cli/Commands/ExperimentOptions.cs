using UniCode.Cli.CommandLine;
using UniCode.Experiments;
using UniCode.Model.Config;
using UniCode.Model.Downstream;

namespace UniCode.Cli.Commands;

/// <summary>The options every experiment-running command shares (run, bench-science), and their parsing.</summary>
public static class ExperimentOptions
{
    public static IReadOnlyList<OptionSpec> Common { get; } =
    [
        new("data", "dataset KIND:PATH (ave:DIR, vggsound:DIR, avvp:DIR, npy:DIR, synth:SPEC)", Required: true, Value: "KIND:PATH"),
        new("preset", "model size: small (CPU), reduced, paper", "small", Value: "NAME"),
        new("modalities", "modalities to pre-train: av, at, vt, avt", "av", Value: "SET"),
        new("task", "downstream protocol: ave (classification), avvp (localization), retrieval (X→audio)", "ave", Value: "TASK"),
        new("pretrain-epochs", "pre-training epochs, exactly (default: the preset's, lengthened to at least 500 optimiser steps)", Value: "N"),
        new("downstream-epochs", "downstream head epochs, exactly (default: the protocol's, 30 for ave, 50 for avvp, lengthened to at least 1,260 optimiser steps under held-out)", Value: "N"),
        new("codebook-size", "codes in the shared codebook (default: the preset's)", Value: "L"),
        new("precision", "float32 or float64 (the reference runs float64)", Value: "TYPE"),
        new("protocol", "held-out (score the test split; default) or reference (score the training split, as the reference code does)", "held-out", Value: "NAME"),
        new("device", "auto, cpu, cuda, cuda:N", "auto", Value: "DEVICE"),
        new("config", "JSON object of extra config fields, or @FILE", Value: "JSON"),
        new("no-club", "ablation: switch CLUB off", Flag: true),
        new("no-cpc", "ablation: switch Cross-CPC off", Flag: true),
        new("no-mm-ema", "ablation: switch Multi-Modal EMA and cross commitment off", Flag: true),
        new("no-reset", "ablation: switch code reset off", Flag: true),
        new("no-cmcm", "ablation: switch the CMCM loss off", Flag: true),
        new("semantic-probe", "diagnostic (ave): also train the head on the continuous semantic features before quantisation", Flag: true),
        new("cell-probe", "diagnostic (ave): also train the raw-feature probe on every video grid cell (max over cells and seconds), beside the grid-mean ceiling", Flag: true),
    ];

    public static Method ParseMethod(string text) => text.ToLowerInvariant() switch
    {
        "baseline" or "vq" => Method.Baseline,
        "cmcm" => Method.Cmcm,
        "dcid-cmcm" or "dcid+cmcm" or "dcidcmcm" => Method.DcidCmcm,
        "unicode" or "uni-code" => Method.UniCode,
        _ => throw new UsageException($"method '{text}': expected baseline, cmcm, dcid-cmcm or unicode"),
    };

    public static ExperimentSpec Spec(ParsedArgs a, Method method, long seed)
    {
        var task = a.Required("task").ToLowerInvariant() switch
        {
            "ave" => DownstreamTask.Ave,
            "avvp" => DownstreamTask.Avvp,
            "retrieval" => DownstreamTask.Retrieval,
            var t => throw new UsageException($"option '--task' = '{t}': expected ave, avvp or retrieval"),
        };
        var protocol = a.Required("protocol").ToLowerInvariant() switch
        {
            "held-out" or "heldout" => EvaluationProtocol.HeldOut,
            "reference" => EvaluationProtocol.Reference,
            var other => throw new UsageException($"option '--protocol' = '{other}': expected held-out or reference"),
        };
        ModalitySet modalities;
        try { modalities = ModalityExtensions.ParseModalitySet(a.Required("modalities")); }
        catch (FormatException e) { throw new UsageException($"option '--modalities': {e.Message}"); }
        var preset = a.Required("preset");
        if (!UniCodeConfig.Presets.ContainsKey(preset)) throw new UsageException($"option '--preset' = '{preset}': expected one of {string.Join(", ", UniCodeConfig.Presets.Keys)}");
        var config = a.String("config");
        if (config is not null && config.StartsWith('@'))
        {
            var file = config[1..];
            if (!File.Exists(file)) throw new UsageException($"option '--config': file '{file}' not found");
            config = File.ReadAllText(file);
        }
        bool Off(string flag) => a.Declares(flag) && a.Flag(flag);
        return new ExperimentSpec
        {
            Dataset = a.Required("data"),
            Method = method,
            Ablation = new Ablation(
                Club: Off("no-club") ? false : null,
                Cpc: Off("no-cpc") ? false : null,
                MultiModalEma: Off("no-mm-ema") ? false : null,
                CodeReset: Off("no-reset") ? false : null,
                Cmcm: Off("no-cmcm") ? false : null),
            Preset = preset,
            Modalities = modalities,
            Task = task,
            Seed = seed,
            PretrainEpochs = a.Int("pretrain-epochs"),
            DownstreamEpochs = a.Int("downstream-epochs"),
            CodebookSize = a.Declares("codebook-size") ? a.Int("codebook-size") : null,
            Precision = a.String("precision") is not null ? a.Enum<Precision>("precision") : null,
            Protocol = protocol,
            Device = a.Required("device"),
            ConfigOverrides = config,
            SemanticProbe = Off("semantic-probe"),
            CellProbe = Off("cell-probe"),
        };
    }
}
