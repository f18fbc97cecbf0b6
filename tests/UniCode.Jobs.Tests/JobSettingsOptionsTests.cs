using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using UniCode.Hosting;
using UniCode.Settings;

namespace UniCode.Jobs.Tests;

/// <summary>The job settings as options (issue 11, item 2): from configuration by their UNICODE_* names, validated on start.</summary>
public sealed class JobSettingsOptionsTests
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
        ["UNICODE_DEVICE"] = null,
        ["UNICODE_HEARTBEAT_SECONDS"] = null,
        ["UNICODE_MAX_JOB_STARTS"] = null,
        [variable] = value,
    };

    [Fact]
    public void Job_settings_are_options_read_from_configuration()
    {
        using var host = ServiceHost.Build("trainer", b => b.Services.AddSettings<JobSettings>(), Configuration("UNICODE_HEARTBEAT_SECONDS", "2.5"));
        Assert.Equal(TimeSpan.FromSeconds(2.5), host.Services.GetRequiredService<IOptions<JobSettings>>().Value.HeartbeatInterval);
    }

    [Theory]
    [InlineData("UNICODE_DEVICE", "tpu", "UNICODE_DEVICE is 'tpu'; expected auto, cpu, cuda or cuda:N")]
    [InlineData("UNICODE_MAX_JOB_STARTS", "0", "UNICODE_MAX_JOB_STARTS is '0'; expected a whole number ≥ 1")]
    [InlineData("UNICODE_HEARTBEAT_SECONDS", "often", "UNICODE_HEARTBEAT_SECONDS is 'often'; expected seconds ≥ 0.1")]
    public async Task A_bad_value_stops_the_start_naming_the_variable_and_the_expected_value(string variable, string value, string message)
    {
        using var host = ServiceHost.Build("trainer", b => b.Services.AddSettings<JobSettings>(), Configuration(variable, value));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(timeout.Token));

        Assert.Equal(typeof(JobSettings), e.OptionsType);
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public async Task The_health_verb_of_a_job_service_names_a_bad_variable_instead_of_failing()
    {
        var output = new StringWriter();
        var exit = await ServiceHost.HealthAsync("trainer", b => b.AddJobService("trainer", Trainer.Program.AddConsumers), output,
            Configuration("UNICODE_DEVICE", "tpu"));

        Assert.Equal(1, exit);
        Assert.Contains("UNICODE_DEVICE is 'tpu'; expected auto, cpu, cuda or cuda:N", output.ToString());
        Assert.StartsWith("{\"service\":\"trainer\",\"status\":\"unhealthy\",\"healthy\":false,\"checks\":[", output.ToString());
    }
}
