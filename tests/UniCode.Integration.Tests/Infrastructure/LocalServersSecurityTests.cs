using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using UniCode.Contracts.Chains;
using UniCode.Messaging;
using UniCode.Persistence;

namespace UniCode.Integration.Tests.Infrastructure;

/// <summary>
/// The local servers of `make services-up` are locked down (issue 10, item 6): the secret files are the owner's
/// alone, PostgreSQL asks every login for its password, RabbitMQ's command-line user may only send chain
/// commands. These tests read the installation (.local-services, or LOCAL_SERVICES_DIR) and the variables its
/// connection.env exports; without them they fail, naming the commands that make them (never skip).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class LocalServersSecurityTests
{
    /// <summary>The fixed password of the versions before issue 10: no installation may still accept it.</summary>
    private const string OldFixedPassword = "unicode";

    private const string HowToStart =
        "start the local servers with `make services-up`, then `source .local-services/connection.env` in the shell that runs `dotnet test` (`make test` does both)";

    private static string StateDirectory()
    {
        var configured = Environment.GetEnvironmentVariable("LOCAL_SERVICES_DIR");
        if (!string.IsNullOrWhiteSpace(configured)) return configured;
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "UniCode.sln"))) return Path.Combine(d.FullName, ".local-services");
        }
        throw new InvalidOperationException($"no UniCode.sln above {AppContext.BaseDirectory}: cannot find .local-services (set LOCAL_SERVICES_DIR)");
    }

    private static string Required(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{variable} is not set: {HowToStart}.");

    [Theory]
    [InlineData("connection.env")]
    [InlineData("secrets.env")]
    [InlineData("rabbitmq/definitions.json")]
    [InlineData("rabbitmq/rabbitmq.conf")]
    public void A_file_with_passwords_is_readable_and_writable_by_its_owner_only(string file)
    {
        var path = Path.Combine(StateDirectory(), file);
        Assert.True(File.Exists(path), $"{path} does not exist: {HowToStart}.");

        var mode = File.GetUnixFileMode(path);

        Assert.True(mode == (UnixFileMode.UserRead | UnixFileMode.UserWrite), $"{path} has mode {Convert.ToString((int)mode, 8)}; expected 600");
    }

    [Fact]
    public async Task PostgreSQL_refuses_a_login_without_the_password_over_loopback_and_over_the_socket()
    {
        var withPassword = new NpgsqlConnectionStringBuilder(Required(DatabaseSettings.VariableName)) { Timeout = 10 };
        var socket = Required("UNICODE_PG_ADMIN_HOST");
        Assert.False(string.IsNullOrEmpty(withPassword.Password), $"{DatabaseSettings.VariableName} carries no password");
        Assert.NotEqual(OldFixedPassword, withPassword.Password);

        await using (var ok = new NpgsqlConnection(withPassword.ConnectionString))
        {
            await ok.OpenAsync();
            await using var who = new NpgsqlCommand("SELECT current_user", ok);
            Assert.Equal(withPassword.Username, (string?)await who.ExecuteScalarAsync());
        }

        var emptyPassfile = Path.GetTempFileName();
        try
        {
            foreach (var host in new[] { withPassword.Host!, socket })
            {
                // No password: the server asks for one (SCRAM), which the client cannot give. The password file is
                // empty and PGPASSWORD unset meanwhile, so nothing supplies one behind the test's back.
                var none = new NpgsqlConnectionStringBuilder(withPassword.ConnectionString) { Host = host, Password = null, Passfile = emptyPassfile };
                var refused = await Assert.ThrowsAnyAsync<NpgsqlException>(() => OpenWithoutPgPasswordAsync(none.ConnectionString));
                Assert.Contains("password", refused.Message, StringComparison.OrdinalIgnoreCase);

                // A wrong password (the old fixed one): the server itself refuses it.
                var wrong = new NpgsqlConnectionStringBuilder(withPassword.ConnectionString) { Host = host, Password = OldFixedPassword };
                var denied = await Assert.ThrowsAsync<PostgresException>(() => OpenWithoutPgPasswordAsync(wrong.ConnectionString));
                Assert.Equal(PostgresErrorCodes.InvalidPassword, denied.SqlState);
            }
        }
        finally
        {
            File.Delete(emptyPassfile);
        }
    }

    [Fact]
    public async Task No_pg_hba_rule_trusts_a_login_and_only_the_superuser_may_use_peer()
    {
        // Through the superuser socket of `make services-up` (peer authentication for the cluster's owner and root).
        var admin = new NpgsqlConnectionStringBuilder(Required(DatabaseSettings.VariableName))
        {
            Host = Required("UNICODE_PG_ADMIN_HOST"), Username = "postgres", Password = null, Database = "postgres", Timeout = 10,
        };
        await using var c = new NpgsqlConnection(admin.ConnectionString);
        await c.OpenAsync();
        await using var rules = new NpgsqlCommand(
            "SELECT type, user_name::text, auth_method FROM pg_hba_file_rules WHERE error IS NULL ORDER BY line_number", c);
        var found = new List<(string Type, string Users, string Method)>();
        await using (var r = await rules.ExecuteReaderAsync())
        {
            while (await r.ReadAsync()) found.Add((r.GetString(0), r.GetString(1), r.GetString(2)));
        }

        Assert.NotEmpty(found);
        Assert.DoesNotContain(found, rule => rule.Method is "trust" or "password" or "md5");
        Assert.All(found.Where(rule => rule.Method != "scram-sha-256"), rule => Assert.Equal(("local", "{postgres}", "peer"), rule));
        Assert.Contains(("local", "{all}", "scram-sha-256"), found);
        Assert.Contains(("host", "{all}", "scram-sha-256"), found);
    }

    [Fact]
    public async Task The_command_line_broker_user_may_send_chain_commands_and_nothing_else()
    {
        var services = RabbitMqSettings.FromEnvironment();
        var cli = services with
        {
            Username = Required("UNICODE_RABBITMQ_CLI_USER"),
            Password = Required("UNICODE_RABBITMQ_CLI_PASS"),
            Prefix = "t" + Guid.NewGuid().ToString("N")[..12],
        };
        var commandQueue = $"{cli.Prefix}-orchestrator-chain-command";
        Assert.NotEqual(services.Username, cli.Username);
        try
        {
            // What `unicode submit` does (PipelineCommands.ClientBus): a bus with no consumer sends to the orchestrator's queue.
            var collection = new ServiceCollection().AddLogging();
            collection.AddUniCodeBus(cli, _ => { });
            await using (var provider = collection.BuildServiceProvider())
            {
                var bus = provider.GetRequiredService<IBusControl>();
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                await bus.StartAsync(timeout.Token);
                try
                {
                    var endpoint = await bus.GetSendEndpoint(new Uri($"queue:{commandQueue}"));
                    await endpoint.Send(new CancelChain(Guid.NewGuid(), "permission check", DateTimeOffset.UtcNow), timeout.Token);
                }
                finally
                {
                    await bus.StopAsync(timeout.Token);
                }
            }
            await using (var asServices = await Factory(services).CreateConnectionAsync())
            await using (var channel = await asServices.CreateChannelAsync())
            {
                Assert.Equal(1u, await channel.MessageCountAsync(commandQueue));
            }

            // Anything else is refused: a service's queue, an event exchange.
            await using var asCli = await Factory(cli).CreateConnectionAsync();
            var queue = await Assert.ThrowsAnyAsync<OperationInterruptedException>(async () =>
            {
                await using var channel = await asCli.CreateChannelAsync();
                await channel.QueueDeclareAsync($"{cli.Prefix}-pretrain-model", durable: false, exclusive: false, autoDelete: true);
            });
            Assert.Equal(403, (int?)queue.ShutdownReason?.ReplyCode);
            var exchange = await Assert.ThrowsAnyAsync<OperationInterruptedException>(async () =>
            {
                await using var channel = await asCli.CreateChannelAsync();
                await channel.BasicPublishAsync("UniCode.Contracts.Chains:ChainCompleted", "", true, new BasicProperties(), new byte[] { 1 });
                await channel.QueueDeclarePassiveAsync(commandQueue);   // the refusal closes the channel (asynchronously); this call observes it
            });
            Assert.Equal(403, (int?)exchange.ShutdownReason?.ReplyCode);

            // The old fixed password no longer opens the broker for the services' user.
            await Assert.ThrowsAsync<BrokerUnreachableException>(() => Factory(services with { Password = OldFixedPassword }).CreateConnectionAsync());
        }
        finally
        {
            await using var asServices = await Factory(services).CreateConnectionAsync();
            await using var channel = await asServices.CreateChannelAsync();
            await channel.QueueDeleteAsync(commandQueue, ifUnused: false, ifEmpty: false);
            await channel.ExchangeDeleteAsync(commandQueue, ifUnused: false);
        }
    }

    private static ConnectionFactory Factory(RabbitMqSettings s) => new()
    {
        HostName = s.Host, Port = s.Port, VirtualHost = s.VirtualHost, UserName = s.Username, Password = s.Password,
        AutomaticRecoveryEnabled = false,
    };

    /// <summary>
    /// Opens a connection. Npgsql falls back to PGPASSWORD when the connection string has no password: should the
    /// shell that runs the tests have one, it is out of the way meanwhile (nothing else in the tests reads it).
    /// </summary>
    private static async Task OpenWithoutPgPasswordAsync(string connectionString)
    {
        var pgPassword = Environment.GetEnvironmentVariable("PGPASSWORD");
        Environment.SetEnvironmentVariable("PGPASSWORD", null);
        try
        {
            await using var c = new NpgsqlConnection(connectionString);
            await c.OpenAsync();
        }
        finally
        {
            if (pgPassword is not null) Environment.SetEnvironmentVariable("PGPASSWORD", pgPassword);
        }
    }
}
