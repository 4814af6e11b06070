using Ladder.PostgreSql.Testing;

namespace Ladder.Jobs.PostgreSql.Tests;

// In the root namespace: a SetUpFixture covers the tests of its namespace and below.

/// <summary>One throwaway PostgreSQL cluster for the whole test assembly; each fixture or test makes its own database or schema.</summary>
[SetUpFixture]
public sealed class Server
{
    private static PostgresServer? _instance;
    private static int _names;

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
    public static Task<string> NewDatabaseAsync() => Instance.CreateDatabaseAsync(NewName("jobs"));

    /// <summary>A fresh lower-case name (a schema, a database, an application name).</summary>
    public static string NewName(string prefix) => $"{prefix}_{Interlocked.Increment(ref _names)}_{Guid.NewGuid():N}"[..30];
}
