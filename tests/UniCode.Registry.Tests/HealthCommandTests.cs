using System.Globalization;
using System.Text.Json;
using UniCode.Hosting;
using UniCode.Persistence;

namespace UniCode.Registry.Tests;

/// <summary>
/// The `health` verb of every service (<see cref="ServiceHost.HealthAsync"/>, here with the registry's registrations):
/// its one JSON line and exit code against the real servers, a dead port, a missing variable and a bad connection string.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class HealthCommandTests(ServerFixture servers)
{
    private Dictionary<string, string?> Configuration(string artifacts) => new()
    {
        ["UNICODE_PG"] = servers.AdminConnectionString,
        ["UNICODE_RABBITMQ_HOST"] = servers.RabbitMq.Host,
        ["UNICODE_RABBITMQ_PORT"] = servers.RabbitMq.Port.ToString(CultureInfo.InvariantCulture),
        ["UNICODE_RABBITMQ_VHOST"] = servers.RabbitMq.VirtualHost,
        ["UNICODE_RABBITMQ_USER"] = servers.RabbitMq.Username,
        ["UNICODE_RABBITMQ_PASS"] = servers.RabbitMq.Password,
        ["UNICODE_ARTIFACTS"] = artifacts,
    };

    private static async Task<(int Exit, string Line, JsonElement Json)> HealthAsync(Dictionary<string, string?> configuration)
    {
        var output = new StringWriter();
        var exit = await ServiceHost.HealthAsync("registry", Program.Configure, output, configuration);
        var line = Assert.Single(output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        return (exit, line, JsonDocument.Parse(line).RootElement);
    }

    private static JsonElement Check(JsonElement report, string name) =>
        Assert.Single(report.GetProperty("checks").EnumerateArray(), c => c.GetProperty("name").GetString() == name);

    [Fact]
    public async Task Healthy_dependencies_give_one_healthy_json_line()
    {
        var root = Directory.CreateTempSubdirectory("unicode-health-").FullName;
        try
        {
            var (exit, line, json) = await HealthAsync(Configuration(Path.Combine(root, "store")));

            Assert.Equal(0, exit);
            Assert.True(json.GetProperty("healthy").GetBoolean(), line);
            var checks = json.GetProperty("checks").EnumerateArray().ToList();
            Assert.Equal(["postgres", "rabbitmq", "artifacts"], checks.Select(c => c.GetProperty("name").GetString()));
            Assert.StartsWith(new DatabaseSettings(servers.AdminConnectionString).Describe() + ": PostgreSQL ", checks[0].GetProperty("detail").GetString());
            Assert.StartsWith(servers.RabbitMq.Describe(), checks[1].GetProperty("detail").GetString());
            Assert.StartsWith(Path.Combine(root, "store") + " writable, ", checks[2].GetProperty("detail").GetString());
            Assert.Equal(["tmp"], Directory.GetFileSystemEntries(Path.Combine(root, "store")).Select(Path.GetFileName));
            Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(root, "store", "tmp")));   // the probe cleaned up

            Assert.Equal("registry", json.GetProperty("service").GetString());
            Assert.Equal("healthy", json.GetProperty("status").GetString());
            Assert.Equal(3, json.GetProperty("checks").GetArrayLength());
            Assert.All(checks, c => Assert.True(c.GetProperty("healthy").GetBoolean()));
            Assert.All(checks, c => Assert.True(c.GetProperty("ms").GetInt64() >= 0));
            Assert.DoesNotContain('\n', line);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task A_dead_broker_and_a_missing_variable_are_reported_by_name()
    {
        var root = Directory.CreateTempSubdirectory("unicode-health-").FullName;
        try
        {
            var configuration = Configuration(root);
            configuration["UNICODE_PG"] = null;   // not set (the test process's own environment is not consulted for it)
            configuration["UNICODE_RABBITMQ_PORT"] = "1";

            var (exit, _, json) = await HealthAsync(configuration);

            Assert.Equal(1, exit);
            Assert.False(json.GetProperty("healthy").GetBoolean());
            Assert.Equal("unhealthy", json.GetProperty("status").GetString());
            var postgres = Check(json, "postgres");
            Assert.False(postgres.GetProperty("healthy").GetBoolean());
            Assert.Equal("OptionsValidationException", postgres.GetProperty("error").GetString());
            Assert.StartsWith("UNICODE_PG is not set", postgres.GetProperty("detail").GetString());
            Assert.False(Check(json, "rabbitmq").GetProperty("healthy").GetBoolean());
            Assert.True(Check(json, "artifacts").GetProperty("healthy").GetBoolean());
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task A_bad_connection_string_gives_the_same_shape_and_exit_1_naming_the_variable()
    {
        var root = Directory.CreateTempSubdirectory("unicode-health-").FullName;
        try
        {
            var configuration = Configuration(root);
            configuration["UNICODE_PG"] = "Port=5432;Database=unicode";   // no Host

            var (exit, line, json) = await HealthAsync(configuration);

            Assert.Equal(1, exit);
            Assert.DoesNotContain('\n', line);
            Assert.Equal(["service", "status", "healthy", "checks"], json.EnumerateObject().Select(p => p.Name));
            Assert.Equal(("registry", "unhealthy", false), (json.GetProperty("service").GetString(), json.GetProperty("status").GetString(), json.GetProperty("healthy").GetBoolean()));
            var postgres = Check(json, "postgres");
            Assert.Equal(["name", "healthy", "detail", "ms", "error"], postgres.EnumerateObject().Select(p => p.Name));
            Assert.False(postgres.GetProperty("healthy").GetBoolean());
            Assert.StartsWith("UNICODE_PG is not a valid Npgsql connection string", postgres.GetProperty("detail").GetString());
            Assert.Contains("expected e.g. Host=", postgres.GetProperty("detail").GetString());
            var rabbit = Check(json, "rabbitmq");
            Assert.Equal(["name", "healthy", "detail", "ms"], rabbit.EnumerateObject().Select(p => p.Name));
            Assert.True(rabbit.GetProperty("healthy").GetBoolean());
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
