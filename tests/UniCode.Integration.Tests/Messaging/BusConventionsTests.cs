using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using UniCode.Messaging;

namespace UniCode.Integration.Tests.Messaging;

/// <summary>AddUniCodeBus conventions that need no broker.</summary>
public sealed class BusConventionsTests
{
    private static readonly RabbitMqSettings Local = new("127.0.0.1", 5672, "unicode", "unicode", "unicode");

    private static IEndpointNameFormatter FormatterFor(RabbitMqSettings settings)
    {
        var services = new ServiceCollection();
        services.AddUniCodeBus(settings, x => x.AddConsumer<FakeRegistryConsumer>());
        return services.BuildServiceProvider().GetRequiredService<IEndpointNameFormatter>();
    }

    [Fact]
    public void Queue_names_are_kebab_case_consumer_names_with_the_optional_prefix()
    {
        Assert.Equal("fake-registry", FormatterFor(Local).Consumer<FakeRegistryConsumer>());
        Assert.Equal("dev-fake-registry", FormatterFor(Local with { Prefix = "dev" }).Consumer<FakeRegistryConsumer>());
    }

    [Fact]
    public void No_usage_telemetry_leaves_the_machine()
    {
        var services = new ServiceCollection();
        services.AddUniCodeBus(Local, x => x.AddConsumer<FakeRegistryConsumer>());
        using var provider = services.BuildServiceProvider();
        Assert.False(provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<UsageTelemetryOptions>>().Value.Enabled);
    }

    [Fact]
    public void Invalid_bus_settings_are_refused_with_the_field_and_the_expected_value()
    {
        var services = new ServiceCollection();

        var zero = Assert.Throws<ArgumentException>(() => services.AddUniCodeBus(Local with { PrefetchCount = 0 }, _ => { }));
        var negative = Assert.Throws<ArgumentException>(() => services.AddUniCodeBus(Local with { RetryIntervals = [TimeSpan.FromSeconds(-1)] }, _ => { }));

        Assert.StartsWith("RabbitMqSettings.PrefetchCount: expected at least 1, got 0", zero.Message);
        Assert.StartsWith("RabbitMqSettings.RetryIntervals: expected non-negative waits, got [-00:00:01]", negative.Message);
    }
}
