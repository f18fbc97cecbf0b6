using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using UniCode.Hosting;
using UniCode.Settings;

namespace UniCode.Orchestrator.Tests;

/// <summary>The coordinator's settings as options (issue 11, item 2): from configuration by their UNICODE_* names, validated on start.</summary>
public sealed class OrchestratorOptionsTests
{
    private static Dictionary<string, string?> Configuration(string variable, string? value) => new()
    {
        ["UNICODE_PG"] = "Host=127.0.0.1;Port=5432;Database=unicode;Username=unicode;Password=x",
        ["UNICODE_RABBITMQ_HOST"] = "127.0.0.1",
        ["UNICODE_RABBITMQ_PORT"] = "5672",
        ["UNICODE_RABBITMQ_VHOST"] = "unicode",
        ["UNICODE_RABBITMQ_USER"] = "unicode",
        ["UNICODE_RABBITMQ_PASS"] = "x",
        ["UNICODE_BUS_PREFIX"] = null,
        ["UNICODE_RETRY_WINDOW_SECONDS"] = null,
        ["UNICODE_REEVALUATION_CRON"] = null,
        ["UNICODE_HEARTBEAT_LEASE"] = null,
        [variable] = value,
    };

    [Fact]
    public void The_options_come_from_configuration()
    {
        using var host = ServiceHost.Build("orchestrator", b => b.Services.AddSettings<OrchestratorOptions>(), Configuration("UNICODE_HEARTBEAT_LEASE", "00:01:00"));
        Assert.Equal(TimeSpan.FromMinutes(1), host.Services.GetRequiredService<IOptions<OrchestratorOptions>>().Value.HeartbeatLease);
    }

    [Theory]
    [InlineData("UNICODE_REEVALUATION_CRON", "every night", "OrchestratorOptions.ReevaluationCron (UNICODE_REEVALUATION_CRON) = 'every night': expected a Quartz cron expression with seconds, e.g. '0 0 2 * * ?' (02:00 every day)")]
    [InlineData("UNICODE_HEARTBEAT_LEASE", "soon", "UNICODE_HEARTBEAT_LEASE = 'soon': expected a duration hh:mm:ss, e.g. 00:00:30")]   // WorkerLease parses it: its own example
    public async Task A_bad_value_stops_the_start_naming_the_variable_and_the_expected_value(string variable, string value, string message)
    {
        using var host = ServiceHost.Build("orchestrator", b => b.Services.AddSettings<OrchestratorOptions>(), Configuration(variable, value));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(timeout.Token));

        Assert.Equal(typeof(OrchestratorOptions), e.OptionsType);
        Assert.Equal(message, e.Message);
    }
}
