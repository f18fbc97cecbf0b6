using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using UniCode.Cli.CommandLine;
using UniCode.Contracts.Chains;
using UniCode.Data;
using UniCode.Hosting;
using UniCode.Messaging;
using UniCode.Persistence;
using UniCode.Persistence.Entities;

namespace UniCode.Cli.Commands.Pipeline;

/// <summary>
/// The pipeline side of `unicode`: submit chains (pre-train → register → fine-tune → evaluate) and
/// whole grids of them to the orchestrator over RabbitMQ, follow them from PostgreSQL, cancel them.
/// </summary>
public static class PipelineCommands
{
    private static readonly JsonSerializerOptions Web = JsonSerializerOptions.Web;

    private static IReadOnlyList<OptionSpec> ChainOptions { get; } =
    [
        new("data", "dataset KIND:PATH to pre-train and evaluate on", Required: true, Value: "KIND:PATH"),
        new("preset", "model preset: small, reduced, paper", "small", Value: "NAME"),
        new("seeds", "comma-separated seeds (one lineage each)", "1", Value: "LIST"),
        new("tasks", "downstream tasks with directions, e.g. ave:v2a,a2v or ave:v2a,a2v;avvp:v2a", "ave:v2a,a2v", Value: "SPEC"),
        new("protocol", "held-out (default) or reference", "held-out", Value: "NAME"),
        new("pretrain-epochs", "pre-training epochs, exactly (default: the preset's, lengthened to at least 500 optimiser steps)", Value: "N"),
        new("downstream-epochs", "head epochs, exactly (default: the protocol's, lengthened to at least 1,260 steps under held-out)", Value: "N"),
        new("config", "JSON object of extra model config fields", Value: "JSON"),
        new("max-restarts", "restarts of one lost job (its worker died or went silent) before the chain fails as a poison job (default: the orchestrator's UNICODE_MAX_RESTARTS, 3)", Value: "N"),
        new("force", "run every step even if its result exists", Flag: true),
        new("wait", "follow the chain(s) until they finish, with progress", Flag: true),
    ];

    public static CommandSpec SubmitChain { get; } = new(
        "submit chain",
        "submit one chain (pre-train → register → fine-tune × tasks × directions → evaluate) to the orchestrator",
        [.. ChainOptions,
            new OptionSpec("method", "baseline, cmcm, dcid-cmcm or unicode", "unicode", Value: "METHOD"),
            new OptionSpec("name", "a name for the chain (default: method and dataset)", Value: "NAME")],
        (a, ct) => Submit(a, [(a.Required("method"), null)], ct),
        "Finished steps of identical earlier chains are reused (same step key), unless --force.");

    public static CommandSpec SubmitGrid { get; } = new(
        "submit grid",
        "submit a grid of chains: methods and ablation rows × seeds (e.g. the paper's Tables 1–3) in one command",
        [.. ChainOptions,
            new OptionSpec("methods", "comma-separated methods", "baseline,cmcm,dcid-cmcm,unicode", Value: "LIST"),
            new OptionSpec("ablations", "comma-separated Uni-Code ablation rows: no-club, no-cpc, no-mm-ema, no-reset, no-cmcm (or none)", "none", Value: "LIST")],
        (a, ct) => Submit(a, GridRows(a), ct),
        "One chain per row; each chain runs every seed. Follow them with `unicode status`.");

    public static CommandSpec Status { get; } = new(
        "status",
        "show chains and their steps with progress (from the results database)",
        [
            new OptionSpec("chain", "one chain's id (default: the most recent chains)", Value: "ID"),
            new OptionSpec("last", "how many recent chains", "10", Value: "N"),
            new OptionSpec("watch", "refresh until every shown chain has finished", Flag: true),
        ],
        RunStatus);

    public static CommandSpec Cancel { get; } = new(
        "cancel",
        "cancel a running chain; its running job stops at its next step",
        [new OptionSpec("chain", "the chain's id", Required: true, Value: "ID"), new OptionSpec("reason", "why", "cancelled from the command line", Value: "TEXT")],
        RunCancel);

    private static IReadOnlyList<(string Method, string? Ablation)> GridRows(ParsedArgs a)
    {
        var rows = a.List("methods").Select(m => (m, (string?)null)).ToList();
        rows.AddRange(a.List("ablations").Where(x => x != "none").Select(x => ("unicode", (string?)x)));
        if (rows.Count == 0) throw new UsageException("the grid is empty: give --methods and/or --ablations");
        return rows;
    }

    private static readonly Dictionary<string, string> AblationFields = new()
    {
        ["no-club"] = "useClub", ["no-cpc"] = "useCpc", ["no-mm-ema"] = "useMultiModalEma", ["no-reset"] = "useCodeReset", ["no-cmcm"] = "useCmcm",
    };

    /// <summary>The orchestrator's method names (ChainSpec.Method).</summary>
    private static string ChainMethod(string cli) => cli.ToLowerInvariant() switch
    {
        "baseline" => "baseline",
        "cmcm" => "cmcm",
        "dcid-cmcm" or "dcid+cmcm" => "dcidCmcm",
        "unicode" or "uni-code" => "uniCode",
        _ => throw new UsageException($"method '{cli}': expected baseline, cmcm, dcid-cmcm or unicode"),
    };

    /// <summary>
    /// Checks --data as the orchestrator's spec parser will (<see cref="DatasetName.ParseChecked"/>: the kind, and a
    /// <c>synth:</c> spec's keys and values), so that a malformed name is refused here rather than sent and lost.
    /// </summary>
    public static string CheckedDataset(ParsedArgs a)
    {
        var data = a.Required("data");
        try
        {
            DatasetName.ParseChecked(data);
        }
        catch (FormatException e)
        {
            throw new UsageException($"option '--data': {e.Message}");
        }
        return data;
    }

    /// <summary>Builds the ChainSpec JSON of one row.</summary>
    public static string SpecJson(ParsedArgs a, string method, string? ablation)
    {
        var config = a.String("config") is { } c ? JsonNode.Parse(c)?.AsObject() ?? throw new UsageException("option '--config': expected a JSON object") : new JsonObject();
        if (a.Int("pretrain-epochs") is { } e)
        {
            config["epochs"] = e;
            config["pretrainMinSteps"] = 0;   // an explicit epoch count is exactly that many epochs
        }
        if (ablation is not null)
        {
            if (!AblationFields.TryGetValue(ablation, out var field)) throw new UsageException($"ablation '{ablation}': expected one of {string.Join(", ", AblationFields.Keys)}");
            config[field] = false;
        }
        var seeds = a.List("seeds").Select(s => long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v
            : throw new UsageException($"option '--seeds': '{s}' is not an integer")).ToList();
        var tasks = new JsonArray();
        foreach (var part in a.Required("tasks").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = part.IndexOf(':');
            if (colon <= 0) throw new UsageException($"option '--tasks': '{part}' should look like ave:v2a,a2v");
            var directions = new JsonArray(part[(colon + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(d => (JsonNode)d).ToArray());
            tasks.Add(new JsonObject { ["task"] = part[..colon], ["directions"] = directions, ["protocol"] = a.Required("protocol") });
        }
        var spec = new JsonObject
        {
            ["dataset"] = CheckedDataset(a),
            ["method"] = ChainMethod(method),
            ["preset"] = a.Required("preset"),
            ["config"] = config,
            ["seeds"] = new JsonArray(seeds.Select(s => (JsonNode)s).ToArray()),
            ["tasks"] = tasks,
        };
        if (a.Int("downstream-epochs") is { } de) spec["finetune"] = new JsonObject { ["epochs"] = de, ["minSteps"] = 0 };
        if (a.Int("max-restarts") is { } mr)
        {
            if (mr < 0) throw new UsageException($"option '--max-restarts': {mr}; expected a whole number ≥ 0");
            spec["maxRestarts"] = mr;
        }
        return spec.ToJsonString(Web);
    }

    private static int Submit(ParsedArgs a, IReadOnlyList<(string Method, string? Ablation)> rows, CancellationToken ct)
    {
        var chains = new List<(Guid Id, string Name)>();
        // Every row's spec is built — and checked — before anything is sent.
        var specs = rows.Select(r => (r.Method, r.Ablation, Json: SpecJson(a, r.Method, r.Ablation))).ToList();
        using (var bus = ClientBus.Start())
        {
            foreach (var (method, ablation, json) in specs)
            {
                var name = a.Declares("name") && a.String("name") is { } n && rows.Count == 1 ? n
                    : $"{method}{(ablation is null ? "" : " " + ablation)} on {a.Required("data")}";
                var id = NewId.NextGuid();
                bus.SendToOrchestrator(new SubmitChain(id, name, json, a.Flag("force"), DateTimeOffset.UtcNow), ct);
                Console.WriteLine($"{id}  {name}");
                chains.Add((id, name));
            }
        }
        Console.Error.WriteLine($"submitted {chains.Count} chain(s); follow with: unicode status{(chains.Count == 1 ? $" --chain {chains[0].Id}" : "")} --watch");
        return a.Flag("wait") ? Watch(chains.Select(c => c.Id).ToList(), ct) : 0;
    }

    private static int RunCancel(ParsedArgs a, CancellationToken ct)
    {
        var id = ParseId(a.Required("chain"));
        using var bus = ClientBus.Start();
        bus.SendToOrchestrator(new CancelChain(id, a.Required("reason"), DateTimeOffset.UtcNow), ct);
        Console.WriteLine($"cancellation of chain {id} requested");
        return 0;
    }

    private static Guid ParseId(string text) => Guid.TryParse(text, out var id) ? id : throw new UsageException($"'{text}' is not a chain id (a GUID)");

    private static int RunStatus(ParsedArgs a, CancellationToken ct)
    {
        List<Guid> ids;
        using (var db = Database())
        {
            ids = a.String("chain") is { } one
                ? [ParseId(one)]
                : db.Chains.OrderByDescending(c => c.SubmittedAt).Take(a.Int("last")!.Value).Select(c => c.Id).ToList();
        }
        if (ids.Count == 0)
        {
            Console.WriteLine("no chains yet (submit one with `unicode submit chain`)");
            return 0;
        }
        return a.Flag("watch") ? Watch(ids, ct) : Print(ids, out _);
    }

    /// <summary>Redraws the status every 2 s until every chain has finished; exit 0 when all succeeded, 1 otherwise.</summary>
    public static int Watch(IReadOnlyList<Guid> ids, CancellationToken ct)
    {
        var terminal = !Console.IsOutputRedirected;
        string previous = "";
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var code = Render(ids, out var text, out var finished);
            if (terminal) Console.Write("\u001b[H\u001b[J" + text);
            else if (text != previous) Console.Write(text);
            previous = text;
            if (finished) return code;
            Thread.Sleep(2000);
        }
    }

    private static int Print(IReadOnlyList<Guid> ids, out bool finished)
    {
        var code = Render(ids, out var text, out finished);
        Console.Write(text);
        return code;
    }

    private static int Render(IReadOnlyList<Guid> ids, out string text, out bool finished)
    {
        using var db = Database();
        var chains = db.Chains.AsNoTracking().Include(c => c.Steps).Where(c => ids.Contains(c.Id)).ToList();
        var workers = db.Workers.AsNoTracking().ToList();
        text = RenderText(ids, chains, workers, DateTimeOffset.UtcNow, WorkerLease.FromEnvironment(Environment.GetEnvironmentVariable), RabbitPrefix());
        finished = ids.All(id => chains.Any(c => c.Id == id)) && chains.All(c => ChainStatuses.Final.Contains(c.Status));
        return chains.All(c => c.Status == ChainStatuses.Succeeded) && chains.Count == ids.Distinct().Count() ? 0 : 1;
    }

    /// <summary>
    /// The text of `unicode status` for <paramref name="chains"/> in the order of <paramref name="ids"/>: a line per
    /// chain, a line per step (status, label, progress, restarts, the worker of a running job, the reason), and for a
    /// step that waits for a worker (dispatched, running or stalled) "no worker alive for queue Q" when no worker of its
    /// kind was heard from within <paramref name="lease"/> (table workers).
    /// </summary>
    public static string RenderText(IReadOnlyList<Guid> ids, IReadOnlyList<Chain> chains, IReadOnlyList<Worker> workers, DateTimeOffset now,
        TimeSpan lease, string? busPrefix)
    {
        var sb = new StringBuilder();
        var alive = workers.Where(w => w.LastSeenAt > now - lease).ToList();
        foreach (var c in chains.OrderBy(c => ids.ToList().IndexOf(c.Id)))
        {
            var done = c.Steps.Count(s => s.Status is "succeeded" or "skipped");
            var stalled = c.Steps.Count(s => s.Status == ChainStepStatuses.Stalled);
            sb.AppendLine(CultureInfo.InvariantCulture, $"chain {c.Id}  {c.Name}  [{c.Status}]  {done}/{Math.Max(c.StepCount, c.Steps.Count)} steps" +
                $"{(stalled > 0 && c.Status == ChainStatuses.Running ? $", {stalled} stalled" : "")}{(c.Reason is { } r ? "  reason: " + r : "")}");
            foreach (var s in c.Steps.OrderBy(s => s.CreatedAt).ThenBy(s => s.Label, StringComparer.Ordinal))
            {
                var bar = s.ProgressTotal is > 0 && s.ProgressStep is { } p ? Bar((double)p / s.ProgressTotal.Value) + $" {p}/{s.ProgressTotal}" : "";
                var notes = new List<string>();
                if (s.ReusedFrom is not null) notes.Add("(reused)");
                if (s.Restarts > 0) notes.Add(s.Restarts == 1 ? "restarted once" : $"restarted {s.Restarts} times");
                if (s.Status == ChainStepStatuses.Running && s.Worker is { } w) notes.Add($"on {w}");
                if (s.Reason is { } why) notes.Add(why);
                if (ChainStepStatuses.IsActive(s.Status) && s.CommandType is not null && c.Status == ChainStatuses.Running
                    && !alive.Any(a => a.JobKind == s.Kind) && s.Kind is ChainStepKinds.Pretrain or ChainStepKinds.Finetune or ChainStepKinds.Evaluate)
                {
                    var queue = workers.Where(x => x.JobKind == s.Kind).OrderByDescending(x => x.LastSeenAt).Select(x => x.Queue).FirstOrDefault()
                        ?? JobQueues.For(s.Kind, busPrefix);
                    var note = $"no worker alive for queue {queue}";
                    if (s.Reason?.Contains(note, StringComparison.Ordinal) != true) notes.Add(note);
                }
                sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"  {s.Status,-10} {s.Label,-40} {bar}{(notes.Count > 0 ? "  " + string.Join("  ", notes) : "")}").TrimEnd());
            }
        }
        foreach (var m in ids.Where(id => chains.All(c => c.Id != id))) sb.AppendLine($"chain {m}  [not yet recorded: is the orchestrator running?]");
        return sb.ToString();
    }

    private static string? RabbitPrefix() => Environment.GetEnvironmentVariable(RabbitMqSettings.PrefixVariable)?.Trim() is { Length: > 0 } p ? p : null;

    private static string Bar(double fraction)
    {
        const int width = 20;
        var filled = (int)Math.Round(Math.Clamp(fraction, 0, 1) * width);
        return "[" + new string('█', filled) + new string('·', width - filled) + "]";
    }

    private static ResultsDbContext Database() => ResultsDbContextOptions.CreateContext(DatabaseSettings.FromEnvironment().ConnectionString);

    /// <summary>A send-only bus for one command (publish, then stop), as the command line's broker user (<see cref="CliBusSettings"/>).</summary>
    private sealed class ClientBus : IDisposable
    {
        private readonly ServiceProvider provider;
        private readonly IBusControl bus;

        private ClientBus(ServiceProvider provider, IBusControl bus)
        {
            this.provider = provider;
            this.bus = bus;
        }

        public static ClientBus Start()
        {
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddUniCodeBus(CliBusSettings.FromEnvironment(), _ => { });
            var provider = services.BuildServiceProvider();
            var bus = provider.GetRequiredService<IBusControl>();
            bus.StartAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
            return new ClientBus(provider, bus);
        }

        /// <summary>
        /// Sends a chain command to the orchestrator's queue (declared by the send if the orchestrator has
        /// not started yet, so the command waits for it instead of being dropped by an unbound exchange).
        /// </summary>
        public void SendToOrchestrator<T>(T message, CancellationToken ct) where T : class
        {
            var settings = provider.GetRequiredService<RabbitMqSettings>();
            var prefix = string.IsNullOrEmpty(settings.Prefix) ? "" : settings.Prefix + "-";
            var endpoint = bus.GetSendEndpoint(new Uri($"queue:{prefix}orchestrator-chain-command")).GetAwaiter().GetResult();
            endpoint.Send(message, ct).GetAwaiter().GetResult();
        }

        public void Dispose()
        {
            bus.StopAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
            provider.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}
