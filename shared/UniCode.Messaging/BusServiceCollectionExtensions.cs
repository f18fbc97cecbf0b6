using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace UniCode.Messaging;

public static class BusServiceCollectionExtensions
{
    /// <summary>
    /// MassTransit over RabbitMQ with UniCode's conventions: kebab-case queue names (a consumer
    /// PretrainModelConsumer listens on "pretrain-model"), one endpoint per registered consumer
    /// (ConfigureEndpoints), <see cref="RabbitMqSettings.PrefetchCount"/> on every endpoint, in-memory
    /// retry only for <see cref="TransientErrors"/>, and the in-memory outbox so a retried consumer
    /// does not publish twice. <paramref name="configure"/> registers consumers, sagas and request
    /// clients; <paramref name="configureBus"/> (optional) adds broker-level settings before endpoints
    /// are configured.
    /// </summary>
    public static IServiceCollection AddUniCodeBus(
        this IServiceCollection services,
        RabbitMqSettings settings,
        Action<IBusRegistrationConfigurator> configure,
        Action<IBusRegistrationContext, IRabbitMqBusFactoryConfigurator>? configureBus = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(configure);
        if (settings.RetryIntervals.Any(i => i < TimeSpan.Zero))
            throw new ArgumentException($"RabbitMqSettings.RetryIntervals: expected non-negative waits, got [{string.Join(", ", settings.RetryIntervals)}]", nameof(settings));
        if (settings.PrefetchCount == 0)
            throw new ArgumentException("RabbitMqSettings.PrefetchCount: expected at least 1, got 0", nameof(settings));

        services.AddSingleton(settings);
        services.AddMassTransit(x =>
        {
            x.SetEndpointNameFormatter(new KebabCaseEndpointNameFormatter(settings.Prefix, false));
            // Nothing leaves the machine: MassTransit's usage telemetry would post to usage-tracking.masstransit.io
            // (and log a warning with a stack trace where there is no internet).
            x.DisableUsageTelemetry();
            configure(x);
            x.UsingRabbitMq((context, cfg) =>
            {
                cfg.Host(settings.Host, (ushort)settings.Port, settings.VirtualHost, h =>
                {
                    h.Username(settings.Username);
                    h.Password(settings.Password);
                });
                if (!string.IsNullOrEmpty(settings.Prefix))
                    cfg.MessageTopology.SetEntityNameFormatter(new PrefixEntityNameFormatter(cfg.MessageTopology.EntityNameFormatter, settings.Prefix + "."));
                cfg.PrefetchCount = settings.PrefetchCount;
                if (settings.RetryIntervals.Count > 0)
                {
                    cfg.UseMessageRetry(r =>
                    {
                        r.Intervals(settings.RetryIntervals.ToArray());
                        r.Handle<Exception>(TransientErrors.IsTransient);
                    });
                }
                cfg.UseInMemoryOutbox(context);
                configureBus?.Invoke(context, cfg);
                cfg.ConfigureEndpoints(context);
            });
        });
        return services;
    }
}
