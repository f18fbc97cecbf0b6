using System.Collections.Concurrent;
using UniCode.Messaging;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace UniCode.Testing;

/// <summary>
/// A real RabbitMQ and a real PostgreSQL for the "servers" test collection, chosen by
/// <see cref="ServerSelector"/> once per test run. Fails every test of the collection (with the
/// selector's message) when there are none.
/// </summary>
public sealed class ServerFixture(IMessageSink diagnostics) : IAsyncLifetime
{
    private readonly ConcurrentDictionary<Type, Lazy<Task<TestDatabase>>> _classDatabases = new();
    private ServerEndpoints? _endpoints;

    public ServerSource Source => Endpoints.Source;

    /// <summary>Broker settings; give each test its own <see cref="RabbitMqSettings.Prefix"/>.</summary>
    public RabbitMqSettings RabbitMq => Endpoints.RabbitMq;

    /// <summary>A role that may CREATE DATABASE; tests use <see cref="CreateDatabaseAsync"/>, not this database.</summary>
    public string AdminConnectionString => Endpoints.PostgresConnectionString;

    private ServerEndpoints Endpoints => _endpoints ?? throw new InvalidOperationException("ServerFixture is not initialised");

    /// <summary>A fresh database (see <see cref="TestDatabase"/>); dispose it at the end of the test class.</summary>
    public Task<TestDatabase> CreateDatabaseAsync(bool create = true) => TestDatabase.CreateAsync(AdminConnectionString, create);

    /// <summary>
    /// The database of one test class: created on first use, shared by that class's tests (which
    /// therefore use unique keys), dropped when the collection ends.
    /// </summary>
    public Task<TestDatabase> DatabaseForClassAsync(Type testClass) =>
        _classDatabases.GetOrAdd(testClass, _ => new Lazy<Task<TestDatabase>>(() => CreateDatabaseAsync())).Value;

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        _endpoints = await new ServerSelector(new SystemServerProbes()).SelectAsync(timeout.Token);
        diagnostics.OnMessage(new DiagnosticMessage(
            $"integration servers: {_endpoints.Source}: {_endpoints.RabbitMq.Describe()}; postgres {new UniCode.Persistence.DatabaseSettings(_endpoints.PostgresConnectionString).Describe()}"));
    }

    public async Task DisposeAsync()
    {
        foreach (var database in _classDatabases.Values)
            await (await database.Value).DisposeAsync();
        if (_endpoints?.Owned is { } owned) await owned.DisposeAsync();
    }
}

/// <summary>
/// Every test that needs the servers joins this collection (its classes run one after another). xUnit finds collection
/// definitions only in the test assembly itself, so each test project that uses it declares
/// <c>[CollectionDefinition(ServerCollection.Name)] sealed class ServerCollectionDefinition : ICollectionFixture&lt;ServerFixture&gt;;</c>.
/// </summary>
public static class ServerCollection
{
    public const string Name = "servers";
}
