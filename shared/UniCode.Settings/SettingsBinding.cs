using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace UniCode.Settings;

/// <summary>
/// A settings type read from UNICODE_* configuration keys. <see cref="FromEnvironment"/> is its one binding: it reads
/// the keys through a lookup (a host's <see cref="IConfiguration"/>, the process environment for the command line, a
/// dictionary in tests), applies the defaults and validates, throwing an exception whose message names the variable,
/// the value it has and the value expected.
/// </summary>
public interface ISettings<TSelf> where TSelf : class, ISettings<TSelf>
{
    /// <exception cref="InvalidOperationException">A variable is missing or malformed (some types throw <see cref="ArgumentException"/>).</exception>
    static abstract TSelf FromEnvironment(Func<string, string?> lookup);
}

/// <summary>Settings from configuration, as values (<see cref="Settings{T}"/>) or as options validated on start (<see cref="AddSettings{T}"/>).</summary>
public static class SettingsBinding
{
    /// <summary>The configuration as the lookup <see cref="ISettings{TSelf}.FromEnvironment"/> reads: keys are the variables' names.</summary>
    public static Func<string, string?> Lookup(this IConfiguration configuration) => key => configuration[key];

    /// <summary>Reads and validates <typeparamref name="T"/> now (for registrations that need a value, e.g. the bus's queue prefix).</summary>
    public static T Settings<T>(this IConfiguration configuration) where T : class, ISettings<T> => T.FromEnvironment(configuration.Lookup());

    /// <summary>
    /// Registers <typeparamref name="T"/> as options (<see cref="IOptions{TOptions}"/>) read from the host's
    /// <see cref="IConfiguration"/> by <see cref="ISettings{TSelf}.FromEnvironment"/>, and validated when the host
    /// starts (<see cref="OptionsBuilderExtensions.ValidateOnStart{TOptions}"/>): a bad value stops the start with an
    /// <see cref="OptionsValidationException"/> whose message names the variable and the expected value.
    /// </summary>
    public static OptionsBuilder<T> AddSettings<T>(this IServiceCollection services) where T : class, ISettings<T>
    {
        services.TryAddSingleton<IOptionsFactory<T>, SettingsOptionsFactory<T>>();
        return services.AddOptions<T>().ValidateOnStart();
    }

    /// <summary>Reads <typeparamref name="T"/> from configuration; a bad value becomes an <see cref="OptionsValidationException"/> with the settings' message.</summary>
    private sealed class SettingsOptionsFactory<T>(IConfiguration configuration) : IOptionsFactory<T> where T : class, ISettings<T>
    {
        public T Create(string name)
        {
            try
            {
                return configuration.Settings<T>();
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException)
            {
                throw new OptionsValidationException(name, typeof(T), [e.Message]);
            }
        }
    }
}
