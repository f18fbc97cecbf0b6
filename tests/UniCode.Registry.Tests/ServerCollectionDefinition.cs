namespace UniCode.Registry.Tests;

/// <summary>The shared servers' collection (UniCode.Testing), declared here because xUnit looks for it in the test assembly.</summary>
[CollectionDefinition(ServerCollection.Name)]
public sealed class ServerCollectionDefinition : ICollectionFixture<ServerFixture>;
