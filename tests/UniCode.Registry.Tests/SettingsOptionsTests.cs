using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using UniCode.Hosting;
using UniCode.Messaging;
using UniCode.Persistence;

namespace UniCode.Registry.Tests;

/// <summary>
/// Settings as options (issue 11, item 2): bound from configuration by their UNICODE_* names and validated when a
/// service host starts; a bad value stops the start with a message naming the variable and the expected value.
/// No server is needed: validation runs before anything connects.
/// </summary>
public sealed class SettingsOptionsTests
{
    private static Dictionary<string, string?> Valid() => new()
    {
        ["UNICODE_PG"] = "Host=127.0.0.1;Port=5432;Database=unicode;Username=unicode;Password=x",
        ["UNICODE_RABBITMQ_HOST"] = "127.0.0.1",
        ["UNICODE_RABBITMQ_PORT"] = "5672",
        ["UNICODE_RABBITMQ_VHOST"] = "unicode",
        ["UNICODE_RABBITMQ_USER"] = "unicode",
        ["UNICODE_RABBITMQ_PASS"] = "x",
        ["UNICODE_BUS_PREFIX"] = null,
        ["UNICODE_RETRY_WINDOW_SECONDS"] = null,
    };

    private static async Task<OptionsValidationException> StartFailsAsync(Dictionary<string, string?> configuration, Action<HostApplicationBuilder>? configure = null)
    {
        using var host = ServiceHost.Build("settings-test", configure ?? (_ => { }), configuration);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(timeout.Token));
    }

    [Fact]
    public void Valid_settings_come_from_configuration_as_options()
    {
        using var host = ServiceHost.Build("settings-test", _ => { }, Valid());
        Assert.Equal(Valid()["UNICODE_PG"], host.Services.GetRequiredService<IOptions<DatabaseSettings>>().Value.ConnectionString);
        Assert.Equal("amqp://unicode@127.0.0.1:5672/unicode", host.Services.GetRequiredService<IOptions<RabbitMqSettings>>().Value.Describe());
    }

    [Fact]
    public async Task A_bad_connection_string_stops_the_start_naming_UNICODE_PG_and_what_it_expects()
    {
        var configuration = Valid();
        configuration["UNICODE_PG"] = "Port=5432;Database=unicode";

        var e = await StartFailsAsync(configuration);

        Assert.Equal(typeof(DatabaseSettings), e.OptionsType);
        Assert.Equal("UNICODE_PG is not a valid Npgsql connection string (it has no Host); expected e.g. Host=127.0.0.1;Port=5432;Database=unicode;Username=unicode;Password=...", e.Message);
    }

    [Fact]
    public async Task A_missing_connection_string_stops_the_start_naming_UNICODE_PG()
    {
        var configuration = Valid();
        configuration["UNICODE_PG"] = null;

        var e = await StartFailsAsync(configuration);

        Assert.StartsWith("UNICODE_PG is not set: it must hold the Npgsql connection string of the results database (e.g. Host=127.0.0.1;", e.Message);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("amqp")]
    public async Task A_bad_broker_port_stops_the_start_naming_the_variable_and_the_port_range(string port)
    {
        var configuration = Valid();
        configuration["UNICODE_RABBITMQ_PORT"] = port;

        var e = await StartFailsAsync(configuration);

        Assert.Equal(typeof(RabbitMqSettings), e.OptionsType);
        Assert.Equal($"RabbitMQ settings: UNICODE_RABBITMQ_PORT is '{port}'; expected a TCP port number in 1..65535 (e.g. 5672).", e.Message);
    }

    [Fact]
    public async Task A_bad_bus_prefix_stops_the_start_naming_UNICODE_BUS_PREFIX()
    {
        var configuration = Valid();
        configuration["UNICODE_BUS_PREFIX"] = "a/b";

        var e = await StartFailsAsync(configuration);

        Assert.Equal("UNICODE_BUS_PREFIX is 'a/b'; expected letters, digits, '-' or '_' (it becomes part of queue names)", e.Message);
    }
}
