using Ladder.Jobs.PostgreSql.Tests.Support;
using Npgsql;

namespace Ladder.Jobs.PostgreSql.Tests;

/// <summary>
/// The store leaves no session state on the connections it gives back to the pool, so a data source with No Reset On
/// Close (the store's own, built from a connection string, or a user's) hands out clean sessions.
/// </summary>
public sealed class SessionStateTests
{
    private string _database = "";

    [OneTimeSetUp]
    public async Task CreateDatabaseAsync() => _database = await Server.NewDatabaseAsync();

    [Test]
    [CancelAfter(60_000)]
    public async Task AClosedStoresListeningConnection_GoesBackToAPoolWithoutResetNoLongerListening(CancellationToken ct)
    {
        // Two physical connections: the listener's and one for everything else.
        await using var h = await Harness.OpenAsync(_database, Server.NewName("r"), connection: b => (b.NoResetOnClose, b.MaxPoolSize, b.ApplicationName) = (true, 2, "session_state_tests"), cancellationToken: ct);
        await h.Store.EnqueueAsync([TestJobs.New()], ct);

        await h.Store.DisposeAsync();

        // Both physical connections at once: one of them was the listener's.
        await using var first = await h.DataSource.OpenConnectionAsync(ct);
        await using var second = await h.DataSource.OpenConnectionAsync(ct);
        foreach (var connection in (NpgsqlConnection[])[first, second])
        {
            await using var command = new NpgsqlCommand("SELECT (SELECT count(*) FROM pg_listening_channels()), current_setting('application_name')", connection);
            await using var reader = await command.ExecuteReaderAsync(ct);
            (await reader.ReadAsync(ct)).Should().BeTrue();
            reader.GetInt64(0).Should().Be(0, "a pooled session must not keep listening");
            reader.GetString(1).Should().Be("session_state_tests", "the listener's application name goes with it");
        }
    }

    [Test]
    public async Task TheDataSourceAStoreBuildsFromAConnectionString_SkipsTheSessionReset()
    {
        await using var store = new PostgresJobStore("Host=localhost;Database=x;Username=u");

        new NpgsqlConnectionStringBuilder(store.DataSource.ConnectionString).NoResetOnClose.Should().BeTrue();
    }
}
