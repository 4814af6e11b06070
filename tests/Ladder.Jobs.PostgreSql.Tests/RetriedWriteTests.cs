using Ladder.Jobs.PostgreSql.Internal;
using Ladder.Jobs.PostgreSql.Tests.Support;
using Ladder.Jobs.Storage;
using Npgsql;
using NpgsqlTypes;

namespace Ladder.Jobs.PostgreSql.Tests;

/// <summary>
/// A single-run outcome retried after its answer was lost, while its first attempt is still on the server waiting for
/// the row (the server has not noticed the lost client; the row is locked by, say, a heartbeat or the rescue): the first
/// attempt commits first, and the retry must report it applied, not the lease lost.
/// </summary>
[NonParallelizable]
public sealed class RetriedWriteTests
{
    private string _database = "";

    [OneTimeSetUp]
    public async Task CreateDatabaseAsync() => _database = await Server.NewDatabaseAsync();

    [TestCase("fail")]
    [TestCase("snooze")]
    [TestCase("give-back")]
    [CancelAfter(60_000)]
    public async Task ARetry_QueuedBehindItsOwnFirstAttempt_ReportsTheOutcomeApplied(string statement, CancellationToken ct)
    {
        var schema = Server.NewName("retried");
        await using var host = await Harness.OpenAsync(_database, schema, cancellationToken: ct);
        await host.Store.EnqueueAsync([TestJobs.New()], ct);
        var lease = (await host.Store.ClaimAsync(TestJobs.Claim(limit: 1), null)).Jobs.Single().Lease;
        var sql = new Sql(schema, contextClock: false);

        await using var other = await OpenAsync("other", ct);
        await using var hold = await other.BeginTransactionAsync(ct);
        await using (var lockRow = new NpgsqlCommand($"SELECT 1 FROM {schema}.jobs WHERE id = {lease.JobId} FOR UPDATE", other))
        {
            await lockRow.ExecuteNonQueryAsync(ct);
        }

        await using var observer = await OpenAsync("observer", ct);
        var firstName = Server.NewName("first");
        await using var firstConnection = await OpenAsync(firstName, ct);
        var first = WriteAsync(firstConnection, sql, statement, lease, retried: false, ct);
        await WaitUntilWaitingOnALockAsync(observer, firstName, first, ct);
        var retryName = Server.NewName("retry");
        await using var retryConnection = await OpenAsync(retryName, ct);
        var retry = WriteAsync(retryConnection, sql, statement, lease, retried: true, ct);
        await WaitUntilWaitingOnALockAsync(observer, retryName, retry, ct);
        await hold.CommitAsync(ct);

        (await first).Should().NotBeNull("the first attempt held the lease");
        (await retry).Should().Be(await first, "the first attempt of this write applied it, with this run's token");
    }

    private static async Task<object?> WriteAsync(NpgsqlConnection connection, Sql sql, string statement, JobLease lease, bool retried, CancellationToken ct)
    {
        var (text, extra) = statement switch
        {
            "fail" => (sql.Fail, (Action<NpgsqlParameterCollection>)(p =>
            {
                p.Add(new NpgsqlParameter("dead", NpgsqlDbType.Boolean) { Value = false });
                p.Add(new NpgsqlParameter("delay", NpgsqlDbType.Interval) { Value = TimeSpan.FromSeconds(5) });
                p.Add(new NpgsqlParameter("last_error", NpgsqlDbType.Text) { Value = "boom" });
                p.Add(new NpgsqlParameter("attempt", NpgsqlDbType.Integer) { Value = 1 });
                p.Add(new NpgsqlParameter("started_at", NpgsqlDbType.TimestampTz) { Value = DateTimeOffset.UnixEpoch });
                p.Add(new NpgsqlParameter("error_type", NpgsqlDbType.Text) { Value = "E" });
                p.Add(new NpgsqlParameter("error_message", NpgsqlDbType.Text) { Value = "boom" });
                p.Add(new NpgsqlParameter("error_stack", NpgsqlDbType.Text) { Value = DBNull.Value });
            })),
            "snooze" => (sql.Snooze, p => p.Add(new NpgsqlParameter("delay", NpgsqlDbType.Interval) { Value = TimeSpan.FromSeconds(5) })),
            "give-back" => (sql.GiveBack, _ => { }),
            _ => throw new ArgumentOutOfRangeException(nameof(statement), statement, null),
        };
        await using var command = new NpgsqlCommand(text, connection);
        command.Parameters.Add(new NpgsqlParameter("id", NpgsqlDbType.Bigint) { Value = lease.JobId });
        command.Parameters.Add(new NpgsqlParameter("token", NpgsqlDbType.Bigint) { Value = lease.Token });
        command.Parameters.Add(new NpgsqlParameter("retried", NpgsqlDbType.Boolean) { Value = retried });
        extra(command.Parameters);
        return await command.ExecuteScalarAsync(ct);
    }

    // The server's own view, polled: there is no event to wait on for "a backend started waiting".
    private static async Task WaitUntilWaitingOnALockAsync(NpgsqlConnection observer, string applicationName, Task write, CancellationToken ct)
    {
        while (true)
        {
            if (write.IsCompleted)
            {
                await write;
                Assert.Fail("the write finished although its row was locked");
            }

            await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE application_name = @name AND wait_event_type = 'Lock'", observer);
            command.Parameters.AddWithValue("name", applicationName);
            if ((long)(await command.ExecuteScalarAsync(ct))! > 0)
            {
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), ct);
        }
    }

    private async Task<NpgsqlConnection> OpenAsync(string applicationName, CancellationToken ct)
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_database) { Pooling = false, ApplicationName = applicationName }.ConnectionString);
        await connection.OpenAsync(ct);
        return connection;
    }
}
