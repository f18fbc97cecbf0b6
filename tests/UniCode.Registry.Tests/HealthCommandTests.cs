using System.Text.Json;
using UniCode.Hosting;
using UniCode.Integration.Tests.Infrastructure;
using UniCode.Persistence;
using UniCode.Persistence.Artifacts;

namespace UniCode.Registry.Tests;

/// <summary>The `health` command's checks against the real servers, a dead port and a missing variable.</summary>
[Collection(ServerCollection.Name)]
public sealed class HealthCommandTests(ServerFixture servers)
{
    [Fact]
    public async Task Healthy_dependencies_give_one_healthy_json_line()
    {
        var root = Directory.CreateTempSubdirectory("unicode-health-").FullName;
        try
        {
            var report = await HealthChecks.RunAsync("registry",
            [
                HealthChecks.Postgres(() => new DatabaseSettings(servers.AdminConnectionString)),
                HealthChecks.RabbitMq(() => servers.RabbitMq),
                HealthChecks.ArtifactDirectory(() => new ArtifactStore(Path.Combine(root, "store"))),
            ]);

            Assert.True(report.Healthy, report.ToJson());
            Assert.Equal(["postgres", "rabbitmq", "artifacts"], report.Checks.Select(c => c.Name));
            Assert.StartsWith(new DatabaseSettings(servers.AdminConnectionString).Describe() + ": PostgreSQL ", report.Checks[0].Detail);
            Assert.StartsWith(servers.RabbitMq.Describe(), report.Checks[1].Detail);
            Assert.StartsWith(Path.Combine(root, "store") + " writable, ", report.Checks[2].Detail);
            Assert.Equal(["tmp"], Directory.GetFileSystemEntries(Path.Combine(root, "store")).Select(Path.GetFileName));
            Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(root, "store", "tmp")));   // the probe cleaned up

            var json = JsonDocument.Parse(report.ToJson()).RootElement;
            Assert.Equal("registry", json.GetProperty("service").GetString());
            Assert.True(json.GetProperty("healthy").GetBoolean());
            Assert.Equal(3, json.GetProperty("checks").GetArrayLength());
            Assert.DoesNotContain('\n', report.ToJson());
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task A_dead_broker_and_a_missing_variable_are_reported_by_name()
    {
        var deadPort = servers.RabbitMq with { Port = 1 };
        var report = await HealthChecks.RunAsync("registry",
        [
            HealthChecks.Postgres(() => DatabaseSettings.FromEnvironment(_ => null)),
            HealthChecks.RabbitMq(() => deadPort),
        ], TimeSpan.FromSeconds(3));

        Assert.False(report.Healthy);
        Assert.False(report.Checks[0].Healthy);
        Assert.StartsWith("InvalidOperationException: UNICODE_PG is not set", report.Checks[0].Detail);
        Assert.False(report.Checks[1].Healthy);
        Assert.Equal("rabbitmq", report.Checks[1].Name);
    }
}
