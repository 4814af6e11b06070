using Ladder.PostgreSql.Testing;
using Ladder.Caching.PostgreSql.Tests.Support;

namespace Ladder.Caching.PostgreSql.Tests;

// In the root namespace: a SetUpFixture covers the tests of its namespace and below.

/// <summary>One throwaway PostgreSQL cluster for the whole test assembly; each test makes its own database.</summary>
[SetUpFixture]
public sealed class Server
{
    private static PostgresServer? _instance;
    private static int _databases;

    public static PostgresServer Instance => _instance ?? throw new InvalidOperationException("The PostgreSQL server is not started.");

    [OneTimeSetUp]
    public async Task StartAsync() => _instance = await PostgresServer.StartAsync();

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_instance is not null)
        {
            await _instance.DisposeAsync();
            _instance = null;
        }
    }

    /// <summary>A fresh database on the shared server; returns its connection string.</summary>
    public static Task<string> NewDatabaseAsync(PostgresServer? server = null) =>
        (server ?? Instance).CreateDatabaseAsync($"cache_{Interlocked.Increment(ref _databases)}_{Guid.NewGuid():N}"[..40]);
}
