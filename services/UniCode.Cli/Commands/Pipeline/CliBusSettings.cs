using UniCode.Messaging;

namespace UniCode.Cli.Commands.Pipeline;

/// <summary>
/// The broker login of the command line (`unicode submit`, `unicode cancel`): UNICODE_RABBITMQ_CLI_USER and
/// UNICODE_RABBITMQ_CLI_PASS when both are set, else the services' UNICODE_RABBITMQ_USER and _PASS. The local
/// servers of `make services-up` give the command line its own user, which may only send chain commands to the
/// orchestrator's queue (infra/local-services.sh, RMQ_CLI_RESOURCES); host, port, vhost and UNICODE_BUS_PREFIX
/// are the services' (<see cref="RabbitMqSettings.FromEnvironment(Func{string, string?})"/>).
/// </summary>
public static class CliBusSettings
{
    public const string UserVariable = "UNICODE_RABBITMQ_CLI_USER";
    public const string PasswordVariable = "UNICODE_RABBITMQ_CLI_PASS";

    /// <exception cref="InvalidOperationException">Only one of the two CLI variables is set, or a bus variable is missing or malformed.</exception>
    public static RabbitMqSettings FromEnvironment(Func<string, string?>? lookup = null)
    {
        lookup ??= Environment.GetEnvironmentVariable;
        var user = lookup(UserVariable);
        var password = lookup(PasswordVariable);
        var (hasUser, hasPassword) = (!string.IsNullOrWhiteSpace(user), !string.IsNullOrWhiteSpace(password));
        if (hasUser != hasPassword)
        {
            throw new InvalidOperationException(
                $"RabbitMQ settings: {(hasUser ? UserVariable : PasswordVariable)} is set but {(hasUser ? PasswordVariable : UserVariable)} is not; " +
                $"set both (the command line's own broker user) or neither (it then logs in as {RabbitMqSettings.UserVariable}).");
        }
        if (!hasUser) return RabbitMqSettings.FromEnvironment(lookup);
        return RabbitMqSettings.FromEnvironment(name => name switch
        {
            RabbitMqSettings.UserVariable => user,
            RabbitMqSettings.PasswordVariable => password,
            _ => lookup(name),
        });
    }
}
