using UniCode.Cli.Commands.Pipeline;

namespace UniCode.Cli.Tests;

/// <summary>The command line's broker login (issue 10, item 6: one broker user for the services, one for the CLI).</summary>
public sealed class CliBusSettingsTests
{
    private static Func<string, string?> Env(Dictionary<string, string> values) => name => values.GetValueOrDefault(name);

    private static Dictionary<string, string> Services() => new()
    {
        ["UNICODE_RABBITMQ_HOST"] = "127.0.0.1", ["UNICODE_RABBITMQ_PORT"] = "5672", ["UNICODE_RABBITMQ_VHOST"] = "unicode",
        ["UNICODE_RABBITMQ_USER"] = "unicode", ["UNICODE_RABBITMQ_PASS"] = "services-secret", ["UNICODE_BUS_PREFIX"] = "dev",
    };

    [Fact]
    public void The_cli_logs_in_as_its_own_user_when_both_cli_variables_are_set()
    {
        var env = Services();
        env["UNICODE_RABBITMQ_CLI_USER"] = "unicode-cli";
        env["UNICODE_RABBITMQ_CLI_PASS"] = "cli-secret";

        var settings = CliBusSettings.FromEnvironment(Env(env));

        Assert.Equal(("unicode-cli", "cli-secret"), (settings.Username, settings.Password));
        Assert.Equal(("127.0.0.1", 5672, "unicode", "dev"), (settings.Host, settings.Port, settings.VirtualHost, settings.Prefix));
    }

    [Fact]
    public void Without_cli_variables_the_cli_logs_in_as_the_services_user()
    {
        var settings = CliBusSettings.FromEnvironment(Env(Services()));

        Assert.Equal(("unicode", "services-secret"), (settings.Username, settings.Password));
    }

    [Theory]
    [InlineData("UNICODE_RABBITMQ_CLI_USER", "UNICODE_RABBITMQ_CLI_PASS")]
    [InlineData("UNICODE_RABBITMQ_CLI_PASS", "UNICODE_RABBITMQ_CLI_USER")]
    public void One_cli_variable_without_the_other_is_an_error_naming_both(string set, string missing)
    {
        var env = Services();
        env[set] = "x";

        var e = Assert.Throws<InvalidOperationException>(() => CliBusSettings.FromEnvironment(Env(env)));

        Assert.StartsWith($"RabbitMQ settings: {set} is set but {missing} is not; set both", e.Message);
        Assert.DoesNotContain("services-secret", e.Message);
    }
}
