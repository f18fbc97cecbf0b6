using System.Security.Cryptography;
using System.Text;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using UniCode.Contracts.Pretraining;
using UniCode.Contracts.Registry;
using UniCode.Core;
using UniCode.Persistence;
using UniCode.Persistence.Artifacts;
using UniCode.Registry.Tests.Checkpoints;
using Info = UniCode.Contracts.Registry.CheckpointInfo;

namespace UniCode.Registry.Tests;

/// <summary>
/// The registry's consumers on the real RabbitMQ and PostgreSQL, fed real checkpoint files: every answer
/// goes through the broker, every row through the database, every file through the artifact store.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class RegistryServiceTests(ServerFixture servers) : IDisposable
{
    private static readonly RequestTimeout Timeout = RequestTimeout.After(s: 30);

    private static readonly Type[] MessageTypes =
    [
        typeof(RegisterCheckpoint), typeof(PretrainCompleted), typeof(SetCheckpointAlias), typeof(GetCheckpoint),
        typeof(GetCheckpointLineage), typeof(CheckpointRegistered), typeof(CheckpointRejected),
        typeof(CheckpointAliasSet), typeof(CheckpointAliasRejected),
    ];

    private readonly CheckpointFiles _files = new();
    private readonly ArtifactStore _store = new(Directory.CreateTempSubdirectory("unicode-registry-store-").FullName);
    private readonly Guid _chainId = Guid.NewGuid();
    private string _connectionString = "";

    public void Dispose()
    {
        _files.Dispose();
        foreach (var f in Directory.EnumerateFiles(_store.Root, "*", SearchOption.AllDirectories)) File.SetAttributes(f, FileAttributes.Normal);
        Directory.Delete(_store.Root, recursive: true);
    }

    private async Task<ServiceTestHost> StartAsync(bool keepFaults = false)
    {
        _connectionString = (await servers.DatabaseForClassAsync(GetType())).ConnectionString;
        return await ServiceTestHost.StartAsync<RegistryRecorder>(
            servers.RabbitMq, _connectionString,
            s => s.AddCheckpointRegistry(_store),
            (x, endpoint) => x.AddRegistryConsumers(endpoint),
            MessageTypes, keepFaults);
    }

    private async Task<Response<CheckpointRegistered, CheckpointRejected>> RegisterAsync(ServiceTestHost host, Info request) =>
        await host.Bus.CreateRequestClient<RegisterCheckpoint>(Timeout)
            .GetResponse<CheckpointRegistered, CheckpointRejected>(new RegisterCheckpoint(request, _chainId));

    private async Task<Info> RegisteredAsync(ServiceTestHost host, Info request)
    {
        var response = await RegisterAsync(host, request);
        if (response.Is(out Response<CheckpointRejected>? rejected)) Assert.Fail($"rejected: {rejected!.Message.Reason}");
        Assert.True(response.Is(out Response<CheckpointRegistered>? registered));
        Assert.Equal(_chainId, registered!.Message.ChainId);
        return registered.Message.Checkpoint;
    }

    private async Task<string> RejectedAsync(ServiceTestHost host, Info request)
    {
        var response = await RegisterAsync(host, request);
        Assert.True(response.Is(out Response<CheckpointRejected>? rejected), "expected a CheckpointRejected");
        Assert.Equal(request, rejected!.Message.Checkpoint);
        // published as well, for subscribers that did not ask
        await host.Published.WaitForAsync<CheckpointRejected>(r => r.Checkpoint.Sha256 == request.Sha256 && r.Reason == rejected.Message.Reason);
        return rejected.Message.Reason;
    }

    private static async Task<Response<CheckpointAliasSet, CheckpointAliasRejected>> SetAliasAsync(ServiceTestHost host, string alias, string sha) =>
        await host.Bus.CreateRequestClient<SetCheckpointAlias>(Timeout)
            .GetResponse<CheckpointAliasSet, CheckpointAliasRejected>(new SetCheckpointAlias(alias, sha, DateTimeOffset.UtcNow));

    private static async Task<Response<CheckpointFound, CheckpointNotFound>> GetAsync(ServiceTestHost host, string query) =>
        await host.Bus.CreateRequestClient<GetCheckpoint>(Timeout).GetResponse<CheckpointFound, CheckpointNotFound>(new GetCheckpoint(query));

    private static async Task<string?> FoundShaAsync(ServiceTestHost host, string query)
    {
        var response = await GetAsync(host, query);
        return response.Is(out Response<CheckpointFound>? found) ? found!.Message.Checkpoint.Sha256 : null;
    }

    private async Task<string?> AliasTargetAsync(string alias)
    {
        await using var context = ResultsDbContextOptions.CreateContext(_connectionString);
        return await context.CheckpointAliases.Where(a => a.Name == alias).Select(a => a.CheckpointSha256).SingleOrDefaultAsync();
    }

    [Fact]
    public async Task Registering_a_checkpoint_twice_stores_one_row_and_one_verified_copy()
    {
        await using var host = await StartAsync();
        var runId = await _files.AddRunAsync(_connectionString);
        var file = _files.Write("a.ckpt", step: 40, epoch: 2);
        var request = CheckpointFiles.Request(file, runId);

        var first = await RegisteredAsync(host, request);
        var second = await RegisteredAsync(host, request);

        // The row is the file's metadata; the uri is the store's copy.
        Assert.Equal(request with { Uri = _store.PathOf(file.Sha256), CreatedAt = first.CreatedAt }, first);
        Assert.InRange((first.CreatedAt - file.Metadata.CreatedAt).Duration(), TimeSpan.Zero, TimeSpan.FromTicks(10)); // PostgreSQL keeps microseconds
        Assert.Equal(first, second);
        Assert.Equal(_files.ConfigHash, first.ConfigHash);
        Assert.Equal(_files.DatasetHash, first.DatasetHash);
        Assert.Equal(Sha256.OfFile(file.Path), Sha256.OfFile(_store.PathOf(file.Sha256)));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(_store.PathOf(file.Sha256)));

        await using (var context = ResultsDbContextOptions.CreateContext(_connectionString))
            Assert.Equal(1, await context.Checkpoints.CountAsync(c => c.RunId == runId));
        await host.Published.WaitForAsync<CheckpointRegistered>(r => r.Checkpoint.Sha256 == file.Sha256 && r.ChainId == _chainId);
        Assert.Equal(file.Sha256, await AliasTargetAsync(AliasPolicy.RunLatest(runId)));
        Assert.Equal(file.Sha256, await AliasTargetAsync(AliasPolicy.ConfigLatest(_files.ConfigHash, _files.DatasetHash)));

        // Once registered, the sha is answered from its row: the trainer's file may be gone.
        File.Delete(file.Path);
        Assert.Equal(first, await RegisteredAsync(host, request));
    }

    [Fact]
    public async Task Aliases_move_on_request_and_lookups_take_an_alias_a_sha_or_a_unique_prefix()
    {
        await using var host = await StartAsync();
        var runId = await _files.AddRunAsync(_connectionString);
        var parent = _files.Write("p.ckpt", step: 0);
        var child = _files.Write("c.ckpt", step: 10, epoch: 1, parentSha256: parent.Sha256);
        await RegisteredAsync(host, CheckpointFiles.Request(parent, runId));
        await RegisteredAsync(host, CheckpointFiles.Request(child, runId));
        var best = $"best-{runId:N}";

        var created = await SetAliasAsync(host, best, parent.Sha256);
        Assert.True(created.Is(out Response<CheckpointAliasSet>? set1));
        Assert.Equal((best, parent.Sha256, (string?)null), (set1!.Message.Alias, set1.Message.Sha256, set1.Message.PreviousSha256));
        Assert.Equal(parent.Sha256, await FoundShaAsync(host, best));

        var moved = await SetAliasAsync(host, best, child.Sha256.ToUpperInvariant());
        Assert.True(moved.Is(out Response<CheckpointAliasSet>? set2));
        Assert.Equal((child.Sha256, parent.Sha256), (set2!.Message.Sha256, set2.Message.PreviousSha256));
        Assert.Equal(child.Sha256, await FoundShaAsync(host, best));
        await host.Published.WaitForAsync<CheckpointAliasSet>(s => s.Alias == best && s.Sha256 == child.Sha256);

        Assert.Equal(parent.Sha256, await FoundShaAsync(host, parent.Sha256));
        Assert.Equal(parent.Sha256, await FoundShaAsync(host, parent.Sha256.ToUpperInvariant()));
        Assert.Equal(parent.Sha256, await FoundShaAsync(host, parent.Sha256[..12]));
        Assert.Equal(child.Sha256, await FoundShaAsync(host, AliasPolicy.RunLatest(runId)));

        var missing = await GetAsync(host, "no-such-alias");
        Assert.True(missing.Is(out Response<CheckpointNotFound>? notFound));
        Assert.Equal(("no-such-alias", "no checkpoint alias 'no-such-alias'"), (notFound!.Message.Query, notFound.Message.Reason));
        var unknownSha = new string('0', 64);
        Assert.True((await GetAsync(host, unknownSha)).Is(out Response<CheckpointNotFound>? noSha));
        Assert.Equal($"no checkpoint with sha256 {unknownSha} (and no alias '{unknownSha}')", noSha!.Message.Reason);

        var reserved = await SetAliasAsync(host, AliasPolicy.RunLatest(runId), parent.Sha256);
        Assert.True(reserved.Is(out Response<CheckpointAliasRejected>? r1));
        Assert.Equal(
            $"alias '{AliasPolicy.RunLatest(runId)}' is in the registry's own namespace ('run/…', 'config/…'), which moves on every registration; choose another name",
            r1!.Message.Reason);
        var unregistered = await SetAliasAsync(host, best, unknownSha);
        Assert.True(unregistered.Is(out Response<CheckpointAliasRejected>? r2));
        Assert.Equal($"checkpoint {unknownSha} is not registered; register it before naming it", r2!.Message.Reason);
        Assert.Equal(child.Sha256, await AliasTargetAsync(best));                         // a refused move leaves the alias alone
        await host.Published.WaitForAsync<CheckpointAliasRejected>(r => r.Alias == best && r.Sha256 == unknownSha);

        // run/<id>/latest never moves back: registering the older checkpoint again leaves it on the child.
        await RegisteredAsync(host, CheckpointFiles.Request(parent, runId));
        Assert.Equal(child.Sha256, await AliasTargetAsync(AliasPolicy.RunLatest(runId)));
    }

    [Fact]
    public async Task Lineage_lists_the_ancestors_nearest_first_and_the_children()
    {
        await using var host = await StartAsync();
        var runId = await _files.AddRunAsync(_connectionString);
        var root = _files.Write("root.ckpt", step: 0);
        var mid = _files.Write("mid.ckpt", step: 5, parentSha256: root.Sha256);
        var sibling = _files.Write("sibling.ckpt", step: 7, parentSha256: root.Sha256);
        var leaf = _files.Write("leaf.ckpt", step: 9, parentSha256: mid.Sha256);
        foreach (var f in new[] { root, mid, sibling, leaf }) await RegisteredAsync(host, CheckpointFiles.Request(f, runId));
        var client = host.Bus.CreateRequestClient<GetCheckpointLineage>(Timeout);

        var ofLeaf = await client.GetResponse<CheckpointLineage, CheckpointNotFound>(new GetCheckpointLineage(AliasPolicy.RunLatest(runId)));
        Assert.True(ofLeaf.Is(out Response<CheckpointLineage>? leafLineage));
        Assert.Equal(leaf.Sha256, leafLineage!.Message.Checkpoint.Sha256);
        Assert.Equal([mid.Sha256, root.Sha256], leafLineage.Message.Ancestors.Select(a => a.Sha256));
        Assert.Equal([5L, 0L], leafLineage.Message.Ancestors.Select(a => a.Step));
        Assert.Empty(leafLineage.Message.Children);

        var ofRoot = await client.GetResponse<CheckpointLineage, CheckpointNotFound>(new GetCheckpointLineage(root.Sha256));
        Assert.True(ofRoot.Is(out Response<CheckpointLineage>? rootLineage));
        Assert.Empty(rootLineage!.Message.Ancestors);
        Assert.Equal([mid.Sha256, sibling.Sha256], rootLineage.Message.Children.Select(c => c.Sha256));
        Assert.Equal(mid.Sha256, rootLineage.Message.Children[0].Sha256);
        Assert.Equal(root.Sha256, rootLineage.Message.Children[0].ParentSha256);

        var none = await client.GetResponse<CheckpointLineage, CheckpointNotFound>(new GetCheckpointLineage("deadbeef"));
        Assert.True(none.Is(out Response<CheckpointNotFound>? notFound));
        Assert.Equal("no checkpoint alias 'deadbeef' and no sha256 starting with deadbeef", notFound!.Message.Reason);
    }

    [Fact]
    public async Task Corrupt_or_inconsistent_checkpoints_are_rejected_with_the_reason_and_nothing_is_stored()
    {
        await using var host = await StartAsync();
        var runId = await _files.AddRunAsync(_connectionString);
        var good = _files.Write("good.ckpt", step: 3);
        var request = CheckpointFiles.Request(good, runId);

        // one flipped byte inside the weights
        var bytes = File.ReadAllBytes(good.Path);
        var section = good.Metadata.Sections[0];
        var payloadLength = good.Metadata.Sections.Sum(s => s.Length);
        bytes[section.Offset + section.Length / 2] ^= 0x40;
        var corruptPath = Path.Combine(_files.Directory, "corrupt.ckpt");
        File.WriteAllBytes(corruptPath, bytes);
        var corruptSha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var corruptPayload = Convert.ToHexStringLower(SHA256.HashData(bytes.AsSpan((int)section.Offset, (int)payloadLength)));

        // the sha the trainer announced no longer matches the file
        Assert.Equal(
            $"checkpoint '{corruptPath}': sha256 is {corruptSha}, expected {good.Sha256}: the file was changed or corrupted",
            await RejectedAsync(host, request with { Uri = corruptPath }));
        // the announced sha is the corrupt file's own: the trailer's payload hash catches it
        Assert.Equal(
            $"checkpoint '{corruptPath}': payload sha256 is {corruptPayload}, the trailer says {good.Metadata.PayloadSha256}: the weights are corrupt",
            await RejectedAsync(host, request with { Sha256 = corruptSha, Uri = corruptPath }));
        // a field of the request contradicts the file
        Assert.Equal(
            $"checkpoint '{good.Path}': the request contradicts the file: Step is '4' in the request, '3' in the file; Seed is '99' in the request, '{good.Metadata.Seed}' in the file",
            await RejectedAsync(host, request with { Step = 4, Seed = 99 }));
        // no file where the uri points
        Assert.Equal(
            $"checkpoint '/nonexistent/x.ckpt': file not found (Uri 'file:///nonexistent/x.ckpt'); expected the checkpoint file with sha256 {good.Sha256}",
            await RejectedAsync(host, request with { Uri = "file:///nonexistent/x.ckpt" }));
        Assert.Equal(
            $"Uri 's3://bucket/x.ckpt' is neither an absolute path nor a file:// URI; expected where the checkpoint file is",
            await RejectedAsync(host, request with { Uri = "s3://bucket/x.ckpt" }));
        // a run nobody recorded
        var strangerRun = Guid.NewGuid();
        Assert.StartsWith($"run {strangerRun} is not in the runs table;", await RejectedAsync(host, request with { RunId = strangerRun }));
        // a parent that was never registered
        var orphan = _files.Write("orphan.ckpt", step: 8, parentSha256: good.Sha256);
        Assert.Equal(
            $"parent checkpoint {good.Sha256} (ParentSha256 in '{orphan.Path}') is not registered; register the parent first",
            await RejectedAsync(host, CheckpointFiles.Request(orphan, runId)));
        Assert.Equal(
            "Sha256 'ABC' is not a sha256; expected 64 lower-case hex digits",
            await RejectedAsync(host, request with { Sha256 = "ABC" }));

        await using (var context = ResultsDbContextOptions.CreateContext(_connectionString))
            Assert.Equal(0, await context.Checkpoints.CountAsync(c => c.RunId == runId || c.RunId == strangerRun));
        Assert.False(_store.Exists(good.Sha256));
        Assert.False(_store.Exists(corruptSha));
        Assert.False(_store.Exists(orphan.Sha256));

        // the good request still registers, then the child
        await RegisteredAsync(host, request);
        await RegisteredAsync(host, CheckpointFiles.Request(orphan, runId));
    }

    [Fact]
    public async Task A_completed_pretraining_registers_its_checkpoint()
    {
        await using var host = await StartAsync();
        var runId = await _files.AddRunAsync(_connectionString);
        var file = _files.Write("final.ckpt", step: 12, epoch: 3);

        await host.Bus.Publish(new PretrainCompleted(runId, _chainId, "step-key", file.Sha256, file.Path, 12, 3, [], DateTimeOffset.UtcNow));
        var registered = await host.Published.WaitForAsync<CheckpointRegistered>(r => r.Checkpoint.Sha256 == file.Sha256);

        Assert.Equal((runId, _chainId, 12L, 3, _files.DatasetHash, file.SizeBytes),
            (registered.Checkpoint.RunId, registered.ChainId, registered.Checkpoint.Step, registered.Checkpoint.Epoch, registered.Checkpoint.DatasetHash, registered.Checkpoint.SizeBytes));
        Assert.True(_store.Exists(file.Sha256));

        // a report whose step disagrees with the file is refused
        var other = _files.Write("other.ckpt", step: 20);
        await host.Bus.Publish(new PretrainCompleted(runId, _chainId, "step-key", other.Sha256, other.Path, 21, 0, [], DateTimeOffset.UtcNow));
        var rejected = await host.Published.WaitForAsync<CheckpointRejected>(r => r.Checkpoint.Sha256 == other.Sha256);
        Assert.Equal($"checkpoint '{other.Path}': the request contradicts the file: Step is '21' in the request, '20' in the file", rejected.Reason);
    }

    [Fact]
    public async Task A_message_the_registry_cannot_answer_ends_in_the_error_queue()
    {
        await using var host = await StartAsync(keepFaults: true);
        host.RemoveOnDispose(
            "register-checkpoint", "register-checkpoint_error", "register-pretrained-checkpoint",
            "set-checkpoint-alias", "checkpoint-query");

        await host.Bus.Publish(new RegisterCheckpoint(null!, _chainId));
        var fault = await host.Published.WaitForAsync<Fault<RegisterCheckpoint>>(f => f.Message.ChainId == _chainId);
        Assert.Equal("RegisterCheckpoint.Checkpoint is missing; expected the CheckpointInfo of the file to register", Assert.Single(fault.Exceptions).Message);
        var parked = await host.TakeFromQueueAsync("register-checkpoint_error", TimeSpan.FromSeconds(30));

        Assert.NotNull(parked);
        Assert.Contains(_chainId.ToString(), Encoding.UTF8.GetString(parked!.Body.Span));
        var reason = parked.BasicProperties.Headers!["MT-Fault-Message"] as byte[];
        Assert.Equal("RegisterCheckpoint.Checkpoint is missing; expected the CheckpointInfo of the file to register", Encoding.UTF8.GetString(reason!));
    }
}
