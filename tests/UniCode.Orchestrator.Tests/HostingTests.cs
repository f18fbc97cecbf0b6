using System.Text.Json;
using UniCode.Hosting;
using UniCode.Orchestrator.Hosting;

namespace UniCode.Orchestrator.Tests;

/// <summary>The `health` command and the settings read from the environment.</summary>
[Collection(ServerCollection.Name)]
public sealed class HostingTests(ServerFixture servers)
{
    private Dictionary<string, string?> Environment() => new()
    {
        ["UNICODE_PG"] = servers.AdminConnectionString,
        ["UNICODE_RABBITMQ_HOST"] = servers.RabbitMq.Host,
        ["UNICODE_RABBITMQ_PORT"] = servers.RabbitMq.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["UNICODE_RABBITMQ_VHOST"] = servers.RabbitMq.VirtualHost,
        ["UNICODE_RABBITMQ_USER"] = servers.RabbitMq.Username,
        ["UNICODE_RABBITMQ_PASS"] = servers.RabbitMq.Password,
    };

    private static async Task<(int Exit, JsonElement Line)> HealthAsync(Dictionary<string, string?> environment)
    {
        var output = new StringWriter();
        var exit = await ServiceHost.HealthAsync("orchestrator", Program.Configure, output, environment);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return (exit, JsonDocument.Parse(Assert.Single(lines)).RootElement);
    }

    private static JsonElement Check(JsonElement report, string name) =>
        Assert.Single(report.GetProperty("checks").EnumerateArray(), c => c.GetProperty("name").GetString() == name);

    [Fact]
    public async Task Health_prints_one_json_line_and_exits_0_when_postgres_and_rabbitmq_answer()
    {
        var (exit, line) = await HealthAsync(Environment());

        Assert.Equal(0, exit);
        Assert.Equal(("orchestrator", "healthy"), (line.GetProperty("service").GetString(), line.GetProperty("status").GetString()));
        Assert.True(Check(line, "postgres").GetProperty("healthy").GetBoolean());
        Assert.True(Check(line, "rabbitmq").GetProperty("healthy").GetBoolean());
    }

    [Fact]
    public async Task Health_exits_1_naming_what_is_missing_or_down()
    {
        var environment = Environment();
        environment["UNICODE_PG"] = null;   // not set (the test process's own environment is not consulted for it)
        environment["UNICODE_RABBITMQ_PASS"] = "wrong-password";

        var (exit, line) = await HealthAsync(environment);

        Assert.Equal(1, exit);
        Assert.Equal("unhealthy", line.GetProperty("status").GetString());
        var postgres = Check(line, "postgres");
        Assert.False(postgres.GetProperty("healthy").GetBoolean());
        Assert.StartsWith("UNICODE_PG is not set", postgres.GetProperty("detail").GetString());
        Assert.False(Check(line, "rabbitmq").GetProperty("healthy").GetBoolean());
    }

    [Fact]
    public void Options_come_from_the_environment_and_bad_values_name_the_variable()
    {
        var options = OrchestratorOptions.FromEnvironment(name => name switch
        {
            "UNICODE_CODE_VERSION" => "abc123",
            "UNICODE_REEVALUATION_CRON" => "0 30 3 * * ?",
            "UNICODE_DISPATCH_TIMEOUT" => "01:00:00",
            "UNICODE_MAX_DISPATCH_ATTEMPTS" => "7",
            _ => null,
        });

        Assert.Equal(("abc123", "abc123", "0 30 3 * * ?", TimeSpan.FromHours(1), 7), (options.CodeVersion, options.EvalCodeVersion, options.ReevaluationCron, options.DispatchTimeout, options.MaxDispatchAttempts));
        Assert.Equal("0 0 2 * * ?", OrchestratorOptions.FromEnvironment(_ => null).ReevaluationCron);   // nightly at 02:00 by default
        var cron = Assert.Throws<ArgumentException>(() => OrchestratorOptions.FromEnvironment(n => n == "UNICODE_REEVALUATION_CRON" ? "every night" : null));
        Assert.Equal("OrchestratorOptions.ReevaluationCron (UNICODE_REEVALUATION_CRON) = 'every night': expected a Quartz cron expression with seconds, e.g. '0 0 2 * * ?' (02:00 every day)", cron.Message);
        var timeout = Assert.Throws<ArgumentException>(() => OrchestratorOptions.FromEnvironment(n => n == "UNICODE_DISPATCH_TIMEOUT" ? "soon" : null));
        Assert.Equal("UNICODE_DISPATCH_TIMEOUT = 'soon': expected a duration hh:mm:ss, e.g. 00:30:00", timeout.Message);
        // The lease is parsed by the one strict parser the CLI's status uses too.
        Assert.Equal(TimeSpan.FromMinutes(2), OrchestratorOptions.FromEnvironment(n => n == "UNICODE_HEARTBEAT_LEASE" ? " 00:02:00 " : null).HeartbeatLease);
        var lease = Assert.Throws<ArgumentException>(() => OrchestratorOptions.FromEnvironment(n => n == "UNICODE_HEARTBEAT_LEASE" ? "00:00:00" : null));
        Assert.Equal("UNICODE_HEARTBEAT_LEASE = '00:00:00': expected a positive duration (several worker heartbeat intervals), e.g. 00:00:30", lease.Message);
    }
}
