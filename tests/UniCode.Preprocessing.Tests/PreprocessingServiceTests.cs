using System.Text;
using System.Text.Json;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using UniCode.Contracts.Common;
using UniCode.Contracts.Preprocessing;
using UniCode.Data;
using UniCode.Data.Ave;
using UniCode.Messaging;
using UniCode.Persistence;
using UniCode.Persistence.Artifacts;

namespace UniCode.Preprocessing.Tests;

/// <summary>Plays the coordinator: records every preprocessing outcome and fault.</summary>
public sealed class PreprocessingRecorder(PublishedMessages published) :
    IConsumer<DatasetPreprocessed>, IConsumer<DatasetRejected>, IConsumer<Fault<PreprocessDataset>>
{
    public Task Consume(ConsumeContext<DatasetPreprocessed> context) => Record(context.Message);
    public Task Consume(ConsumeContext<DatasetRejected> context) => Record(context.Message);
    public Task Consume(ConsumeContext<Fault<PreprocessDataset>> context) => Record(context.Message);

    private Task Record(object message)
    {
        published.Add(message);
        return Task.CompletedTask;
    }
}

/// <summary>The preprocessing consumer on the real RabbitMQ and PostgreSQL, with the artifact store in a temp directory.</summary>
[Collection(ServerCollection.Name)]
public sealed class PreprocessingServiceTests(ServerFixture servers) : IDisposable
{
    private const string Synth = "synth:clips=40,classes=4,segments=4,audio=8,grid=2,video=6,text=5,seed=3";
    private static readonly RequestTimeout Timeout = RequestTimeout.After(s: 30);
    private static readonly Type[] MessageTypes = [typeof(PreprocessDataset), typeof(DatasetPreprocessed), typeof(DatasetRejected)];

    private readonly string _dir = Directory.CreateTempSubdirectory("unicode-preprocessing-").FullName;
    private readonly CapturedLogs _logs = new();
    private readonly Guid _chainId = Guid.NewGuid();
    private ArtifactStore Store => new(Path.Combine(_dir, "store"));
    private string _connectionString = "";

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<ServiceTestHost> StartAsync(bool keepFaults = false)
    {
        _connectionString = (await servers.DatabaseForClassAsync(GetType())).ConnectionString;
        return await ServiceTestHost.StartAsync<PreprocessingRecorder>(
            servers.RabbitMq, _connectionString,
            s =>
            {
                s.AddDatasetPreprocessor(Store, new PreprocessingOptions(VerifyPack: true));
                s.AddLogging(b => b.AddProvider(_logs));
            },
            (x, endpoint) => x.AddPreprocessingConsumers(endpoint),
            MessageTypes, keepFaults);
    }

    private PreprocessDataset Command(string dataset)
    {
        var run = new RunIdentity("{}", StepKeys.Sha256Hex("{}"u8), 1, "test", "");
        var stepKey = StepKeys.Compute("preprocess", run.ConfigJson, [dataset + Guid.NewGuid()], run.CodeVersion);
        return new PreprocessDataset(StepKeys.JobId(stepKey), _chainId, stepKey, run, dataset, DateTimeOffset.UtcNow);
    }

    private async Task<(PreprocessDataset Command, Response<DatasetPreprocessed, DatasetRejected> Response)> RunAsync(ServiceTestHost host, string dataset)
    {
        var command = Command(dataset);
        var response = await host.Bus.CreateRequestClient<PreprocessDataset>(Timeout).GetResponse<DatasetPreprocessed, DatasetRejected>(command);
        return (command, response);
    }

    private async Task<DatasetPreprocessed> PreprocessedAsync(ServiceTestHost host, string dataset)
    {
        var (command, response) = await RunAsync(host, dataset);
        if (response.Is(out Response<DatasetRejected>? rejected)) Assert.Fail($"rejected: {rejected!.Message.Reason}");
        Assert.True(response.Is(out Response<DatasetPreprocessed>? done));
        Assert.Equal((command.JobId, command.ChainId, command.StepKey), (done!.Message.JobId, done.Message.ChainId, done.Message.StepKey));
        await host.Published.WaitForAsync<DatasetPreprocessed>(p => p.JobId == command.JobId);
        return done.Message;
    }

    private async Task<string> RejectedAsync(ServiceTestHost host, string dataset)
    {
        var (command, response) = await RunAsync(host, dataset);
        Assert.True(response.Is(out Response<DatasetRejected>? rejected), $"expected {dataset} to be rejected");
        Assert.Equal((command.JobId, command.ChainId, command.StepKey, dataset), (rejected!.Message.JobId, rejected.Message.ChainId, rejected.Message.StepKey, rejected.Message.Dataset));
        await host.Published.WaitForAsync<DatasetRejected>(r => r.JobId == command.JobId && r.Reason == rejected.Message.Reason);
        return rejected.Message.Reason;
    }

    [Fact]
    public async Task The_same_content_twice_is_one_dataset_and_its_pack_reads_back_equal_to_the_source()
    {
        await using var host = await StartAsync();
        using var source = DatasetOpener.Open(Synth);
        var hash = source.ContentHash();

        var first = await PreprocessedAsync(host, Synth);
        var second = await PreprocessedAsync(host, Synth);

        var pack = Store.DirectoryOf("datasets", hash);
        Assert.Equal(("npy:" + pack, hash, 40), (first.Dataset, first.ContentHash, first.ClipCount));
        Assert.Equal((first.DatasetId, first.Dataset, first.ContentHash), (second.DatasetId, second.Dataset, second.ContentHash));
        using (var packed = DatasetOpener.Open(first.Dataset)) DatasetPackerTests.AssertSameContent(source, packed);
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(Store.Root, "tmp")));

        await using (var context = ResultsDbContextOptions.CreateContext(_connectionString))
        {
            var row = await context.Datasets.SingleAsync(d => d.ContentHash == hash);
            Assert.Equal((first.DatasetId, source.Name, "synth", 40), (row.Id, row.Name, row.Kind, row.ClipCount));
            using var description = JsonDocument.Parse(row.Description!);
            Assert.Equal(first.Dataset, description.RootElement.GetProperty("packed").GetString());
            Assert.Equal(28, description.RootElement.GetProperty("splits").GetProperty("train").GetInt32());
        }

        // The pack itself, preprocessed as a source, is the same content: the same dataset, still one row.
        var again = await PreprocessedAsync(host, first.Dataset);
        Assert.Equal((first.DatasetId, first.Dataset), (again.DatasetId, again.Dataset));
        await using (var context = ResultsDbContextOptions.CreateContext(_connectionString))
            Assert.Equal(1, await context.Datasets.CountAsync(d => d.ContentHash == hash));

        // A pack that lost a file is moved aside and written again.
        File.Delete(Path.Combine(pack, "video.npy"));
        var repaired = await PreprocessedAsync(host, Synth);
        Assert.Equal((first.DatasetId, first.Dataset), (repaired.DatasetId, repaired.Dataset));
        Assert.Null(DatasetPacker.Check(pack, hash, rehash: true));
        var aside = Assert.Single(Directory.GetDirectories(Path.Combine(Store.Root, "tmp")));
        Assert.StartsWith("broken-pack-", Path.GetFileName(aside));
        Assert.False(File.Exists(Path.Combine(aside, "video.npy")));
        Assert.Contains(_logs.Entries, e => e.Message.StartsWith($"Pack {pack} is incomplete ({Path.Combine(pack, "video.npy")}: file not found; the manifest lists it); moved to {aside}", StringComparison.Ordinal));

        // Progress was logged inside the job's scope; the second run wrote nothing.
        var packing = _logs.Entries.Where(e => e.Message.StartsWith($"Packing {source.Name}: ", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(packing);
        Assert.All(packing, e => Assert.True(Equals(first.JobId, e.Scope["job_id"]) || Equals(repaired.JobId, e.Scope["job_id"])));
        Assert.DoesNotContain(packing, e => Equals(second.JobId, e.Scope["job_id"]));
        Assert.Contains(packing, e => e.Message.StartsWith($"Packing {source.Name}: 40/40 clips (100%", StringComparison.Ordinal));
        Assert.Contains(_logs.Entries, e => e.Message == $"Pack {pack} exists; not written again" && Equals(e.Scope["job_id"], second.JobId));
    }

    [Fact]
    public async Task Bad_datasets_are_rejected_with_the_readers_message_and_not_recorded()
    {
        await using var host = await StartAsync();
        // An AVE directory whose video holds 10 clips where the audio holds 12.
        var ave = Path.Combine(_dir, "ave");
        var other = Path.Combine(_dir, "other");
        using (var twelve = DatasetOpener.Open("synth:clips=12,classes=3,segments=4,audio=6,grid=2,video=5,text=0,seed=1")) AveLayoutWriter.Write(twelve, ave);
        using (var ten = DatasetOpener.Open("synth:clips=10,classes=3,segments=4,audio=6,grid=2,video=5,text=0,seed=1")) AveLayoutWriter.Write(ten, other);
        File.Copy(Path.Combine(other, AveDataset.VideoFile), Path.Combine(ave, AveDataset.VideoFile), overwrite: true);

        Assert.Equal(
            $"{Path.Combine(ave, AveDataset.VideoFile)}: dataset 'avadataset' has 10 clips (N, shape [10,4,2,2,5]) but {Path.Combine(ave, AveDataset.AudioFile)} dataset 'avadataset' has 12 (shape [12,4,6]); expected the same N in both files",
            await RejectedAsync(host, "ave:" + ave));
        Assert.Equal(
            $"{Path.Combine(_dir, "missing")}: directory not found; expected audio.npy, video.npy, labels.npy (+ optional text.npy, splits.json)",
            await RejectedAsync(host, "npy:" + Path.Combine(_dir, "missing")));
        Assert.Equal(
            "dataset name 'hdf5:/data' has unknown kind 'hdf5'; expected one of ave, vggsound, avvp, npy, synth (format KIND:PATH, e.g. ave:/data/AVE)",
            await RejectedAsync(host, "hdf5:/data"));
        Assert.Equal("synth spec: clips=2; expected at least 3 (one per split)", await RejectedAsync(host, "synth:clips=2"));

        await using var context = ResultsDbContextOptions.CreateContext(_connectionString);
        Assert.False(await context.Datasets.AnyAsync(d => d.Name.StartsWith("ave:" + _dir) || d.Name.StartsWith("npy:" + _dir)));
        Assert.False(Directory.Exists(Path.Combine(Store.Root, "datasets")));
    }

    [Fact]
    public async Task Datasets_with_audio_and_visual_label_tracks_are_registered_in_place()
    {
        await using var host = await StartAsync();
        var avvp = Path.Combine(_dir, "AVVP");
        Directory.CreateDirectory(Path.Combine(avvp, "data"));
        File.WriteAllLines(Path.Combine(avvp, "data/AVVP_Categories.txt"), ["Speech", "Dog"]);
        File.WriteAllText(Path.Combine(avvp, "data/AVVP_eval_audio_checked_combined.csv"), "filename\tonset\toffset\tevent_labels\nclipaaaaaaa_0_10\t0,2\t3,5\tSpeech,Dog\n");
        File.WriteAllText(Path.Combine(avvp, "data/AVVP_eval_visual_checked_combined.csv"), "filename\tonset\toffset\tevent_labels\nclipaaaaaaa_0_10\t4\t10\tDog\n");
        TestFiles.WriteZip(Path.Combine(avvp, "feature/audio/zip/clipaaaaaaa.zip"), "a.pkl", NumpyPickleEmitter.Float32(TestFiles.Ramp(10 * 2), [10, 2]));
        TestFiles.WriteZip(Path.Combine(avvp, "feature/video/zip/clipaaaaaaa.zip"), "v.pkl", NumpyPickleEmitter.Float32(TestFiles.Ramp(10 * 3), [10, 1, 1, 3]));
        using var source = DatasetOpener.Open("avvp:" + avvp);

        var done = await PreprocessedAsync(host, "avvp:" + avvp);

        Assert.Equal(("avvp:" + avvp, source.ContentHash(), 1), (done.Dataset, done.ContentHash, done.ClipCount));
        Assert.False(Directory.Exists(Store.DirectoryOf("datasets", done.ContentHash)));
        await using var context = ResultsDbContextOptions.CreateContext(_connectionString);
        var row = await context.Datasets.SingleAsync(d => d.Id == done.DatasetId);
        Assert.Equal(("avvp", "avvp:" + avvp, done.ContentHash), (row.Kind, row.Name, row.ContentHash));
        using var description = JsonDocument.Parse(row.Description!);
        Assert.Equal(JsonValueKind.Null, description.RootElement.GetProperty("packed").ValueKind);
        Assert.True(description.RootElement.GetProperty("track_labels").GetBoolean());
    }

    [Fact]
    public async Task A_command_without_a_dataset_faults_into_the_error_queue()
    {
        await using var host = await StartAsync(keepFaults: true);
        host.RemoveOnDispose("preprocess-dataset", "preprocess-dataset_error");
        var command = Command("unused") with { Dataset = null! };

        await host.Bus.Publish(command);
        var fault = await host.Published.WaitForAsync<Fault<PreprocessDataset>>(f => f.Message.JobId == command.JobId);
        var parked = await host.TakeFromQueueAsync("preprocess-dataset_error", TimeSpan.FromSeconds(30));

        Assert.Equal("PreprocessDataset.Dataset is missing; expected a KIND:PATH dataset name", Assert.Single(fault.Exceptions).Message);
        Assert.NotNull(parked);
        Assert.Contains(command.JobId.ToString(), Encoding.UTF8.GetString(parked!.Body.Span));
    }
}
