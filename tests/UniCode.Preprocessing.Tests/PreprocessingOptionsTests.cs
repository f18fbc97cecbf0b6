using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using UniCode.Hosting;
using UniCode.Settings;

namespace UniCode.Preprocessing.Tests;

/// <summary>The preprocessing settings as options (issue 11, item 2): from configuration by their UNICODE_* names, validated on start.</summary>
public sealed class PreprocessingOptionsTests
{
    private static Dictionary<string, string?> Configuration(string? verify) => new()
    {
        ["UNICODE_PG"] = "Host=127.0.0.1;Port=5432;Database=unicode;Username=unicode;Password=x",
        ["UNICODE_RABBITMQ_HOST"] = "127.0.0.1",
        ["UNICODE_RABBITMQ_PORT"] = "5672",
        ["UNICODE_RABBITMQ_VHOST"] = "unicode",
        ["UNICODE_RABBITMQ_USER"] = "unicode",
        ["UNICODE_RABBITMQ_PASS"] = "x",
        ["UNICODE_BUS_PREFIX"] = null,
        ["UNICODE_RETRY_WINDOW_SECONDS"] = null,
        ["UNICODE_PREPROCESS_VERIFY"] = verify,
    };

    [Theory]
    [InlineData(null, true)]
    [InlineData("false", false)]
    public void The_options_come_from_configuration(string? verify, bool expected)
    {
        using var host = ServiceHost.Build("preprocessing", b => b.Services.AddSettings<PreprocessingOptions>(), Configuration(verify));
        Assert.Equal(expected, host.Services.GetRequiredService<IOptions<PreprocessingOptions>>().Value.VerifyPack);
    }

    [Fact]
    public async Task A_bad_value_stops_the_start_naming_the_variable_and_the_expected_value()
    {
        using var host = ServiceHost.Build("preprocessing", b => b.Services.AddSettings<PreprocessingOptions>(), Configuration("maybe"));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(timeout.Token));

        Assert.Equal("UNICODE_PREPROCESS_VERIFY is 'maybe'; expected true or false", e.Message);
    }
}
