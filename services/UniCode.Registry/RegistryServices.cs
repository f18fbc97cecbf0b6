using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using UniCode.Persistence.Artifacts;

namespace UniCode.Registry;

/// <summary>How a host (the service's Program, or a test) assembles the registry.</summary>
public static class RegistryServices
{
    /// <summary>Adds <see cref="CheckpointRegistry"/> over <paramref name="store"/> (the results database must be added too).</summary>
    public static IServiceCollection AddCheckpointRegistry(this IServiceCollection services, ArtifactStore store)
    {
        services.AddSingleton(store);
        services.AddSingleton<CheckpointRegistry>();
        return services;
    }

    /// <summary>
    /// Registers the registry's consumers, each on its own endpoint; <paramref name="endpoint"/> adjusts each
    /// endpoint (tests make them temporary).
    /// </summary>
    public static IBusRegistrationConfigurator AddRegistryConsumers(this IBusRegistrationConfigurator bus, Action<IEndpointRegistrationConfigurator>? endpoint = null)
    {
        void Configure(IEndpointRegistrationConfigurator e) => endpoint?.Invoke(e);
        bus.AddConsumer<RegisterCheckpointConsumer>().Endpoint(Configure);
        bus.AddConsumer<RegisterPretrainedCheckpointConsumer>().Endpoint(Configure);
        bus.AddConsumer<SetCheckpointAliasConsumer>().Endpoint(Configure);
        bus.AddConsumer<CheckpointQueryConsumer>().Endpoint(Configure);
        return bus;
    }
}
