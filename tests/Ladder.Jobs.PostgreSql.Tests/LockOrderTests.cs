using Ladder.Jobs.PostgreSql.Internal;
using Ladder.Jobs.PostgreSql.Tests.Support;
using Ladder.Jobs.Storage;
using Npgsql;
using NpgsqlTypes;

namespace Ladder.Jobs.PostgreSql.Tests;

/// <summary>
/// The statements over many jobs' rows (completions, start marks, heartbeats, the rescue's extension of held leases)
/// lock the rows in id order, so no two of them ever deadlock: locked in their arrays' order, a host's completions and
/// its rescue's extension of the same leases waited for each other in a cycle (40P01) under the chaos test.
/// </summary>
/// <remarks>
/// Before the fix the heartbeat and the rescue's extension failed here with 40P01 (they locked in the arrays' order);
/// the completion and the start mark happened to lock in id order through their plan on this table. All five are
/// covered, so no plan can bring the cycle back.
/// </remarks>
[NonParallelizable]
public sealed class LockOrderTests
{
    private string _database = "";

    [OneTimeSetUp]
    public async Task CreateDatabaseAsync() => _database = await Server.NewDatabaseAsync();

    [TestCase("complete")]
    [TestCase("complete-retried")]
    [TestCase("mark-started")]
    [TestCase("heartbeat")]
    [TestCase("extend-held")]
    [CancelAfter(60_000)]
    public async Task AWriteOverManyLeases_LocksTheirRowsInIdOrder_SoAnotherTransactionLockingInIdOrderNeverDeadlocksWithIt(string statement, CancellationToken ct)
    {
        var schema = Server.NewName("locks");
        await using var host = await Harness.OpenAsync(_database, schema, cancellationToken: ct);
        await host.Store.EnqueueAsync([TestJobs.New(), TestJobs.New(), TestJobs.New()], ct);
        var leases = (await host.Store.ClaimAsync(TestJobs.Claim(limit: 3, startNow: 0), null)).Jobs.Select(j => j.Lease).OrderByDescending(l => l.JobId).ToList();
        leases.Should().HaveCount(3);
        var (lowest, highest) = (leases[^1].JobId, leases[0].JobId);

        // Another transaction holds the lowest row; it detects a deadlock at once (10 ms), so a cycle fails it, not the write.
        await using var other = await OpenAsync("other", ct);
        await using var hold = await other.BeginTransactionAsync(ct);
        await ExecuteAsync(other, "SET deadlock_timeout = '10ms'", ct);
        await ExecuteAsync(other, $"SELECT 1 FROM {schema}.jobs WHERE id = {lowest} FOR UPDATE", ct);

        // The write, given the leases highest id first (as a batch may hold them), waits for the lowest row.
        var writerName = Server.NewName("writer");
        await using var writer = await OpenAsync(writerName, ct);
        var write = WriteAsync(writer, new Sql(schema, contextClock: false), statement, leases, ct);
        await using var observer = await OpenAsync("observer", ct);
        await WaitUntilWaitingOnALockAsync(observer, writerName, write, ct);

        // Locking in id order, the write holds nothing while it waits: the highest row is free to take.
        var takeHighest = () => ExecuteAsync(other, $"SELECT 1 FROM {schema}.jobs WHERE id = {highest} FOR UPDATE", ct);
        await takeHighest.Should().NotThrowAsync("a write that locked the higher rows first would have made a cycle (40P01)");
        await hold.CommitAsync(ct);

        (await write).Should().Be(3, "every lease held, and the write matched all of them once the rows were free");
    }

    // A stalled host's late heartbeat or completion locks its batch's rows in id order whatever their state (LockedLeases),
    // so also rows rescued meanwhile and now claimable. The limited claim, which does not skip locked rows, updated its
    // rows in claim order (priority first): holding a higher row while it waited for a lower one, it closed a cycle with
    // such a write (40P01, shown by hand with two rescued rows: the heartbeat was the victim; the claim is never retried).
    [Test]
    [CancelAfter(60_000)]
    public async Task TheLimitedClaim_LocksTheRowsItTakesInIdOrder_SoALeaseWriteHoldingARescuedRowNeverDeadlocksWithIt(CancellationToken ct)
    {
        var schema = Server.NewName("locks");
        var claimerName = Server.NewName("claimer");
        await using var host = await Harness.OpenAsync(_database, schema, connection: b => b.ApplicationName = claimerName, cancellationToken: ct);

        // Two keyed jobs, the lower id with the lower priority: the claim's order is not id order.
        var ids = (await host.Store.EnqueueAsync(
            [
                new NewJob("default", "test", "{}", 0, null, TimeSpan.Zero, 5, null, null, null, "a", 1),
                new NewJob("default", "test", "{}", 5, null, TimeSpan.Zero, 5, null, null, null, "b", 1),
            ], ct)).Select(r => r.JobId).ToArray();
        var (lowest, highest) = (ids[0], ids[1]);

        // Another transaction, standing for such a write, holds the lowest row; it detects a deadlock at once (10 ms).
        await using var other = await OpenAsync("other", ct);
        await using var hold = await other.BeginTransactionAsync(ct);
        await ExecuteAsync(other, "SET deadlock_timeout = '10ms'", ct);
        await ExecuteAsync(other, $"SELECT 1 FROM {schema}.jobs WHERE id = {lowest} FOR UPDATE", ct);

        var claim = host.Store.ClaimAsync(TestJobs.Claim(limit: 2), null);
        await using var observer = await OpenAsync("observer", ct);
        await WaitUntilWaitingOnALockAsync(observer, claimerName, claim, ct);

        // Locking in id order, the claim holds no job row while it waits: the write can go on to the highest row.
        var takeHighest = () => ExecuteAsync(other, $"SELECT 1 FROM {schema}.jobs WHERE id = {highest} FOR UPDATE", ct);
        await takeHighest.Should().NotThrowAsync("a claim that updated the higher row first would have made a cycle (40P01)");
        await hold.CommitAsync(ct);

        (await claim).Jobs.Select(j => j.Id).Should().BeEquivalentTo(ids, "both keys had a free slot, and the rows were free once the write ended");
    }

    [TestCase("40P01", TestName = "ADeadlock_IsTransient_SoTheOutcomeIsRetriedWithItsToken")]
    [TestCase("40001", TestName = "ASerializationFailure_IsTransient_SoTheOutcomeIsRetriedWithItsToken")]
    public void ASerializationOrDeadlockError_IsTransient(string sqlState) =>
        PostgresJobStore.IsTransient(new PostgresException("test", "ERROR", "ERROR", sqlState)).Should().BeTrue();

    private static async Task<int> WriteAsync(NpgsqlConnection connection, Sql sql, string statement, IReadOnlyList<JobLease> leases, CancellationToken ct)
    {
        var text = statement switch
        {
            "complete" => sql.Complete,
            "complete-retried" => sql.CompleteRetried,
            "mark-started" => sql.MarkStarted,
            "heartbeat" => sql.Heartbeat,
            "extend-held" => sql.ExtendHeld,
            _ => throw new ArgumentOutOfRangeException(nameof(statement), statement, null),
        };
        await using var command = new NpgsqlCommand(text, connection);
        command.Parameters.Add(new NpgsqlParameter("id", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = leases.Select(l => l.JobId).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("token", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = leases.Select(l => l.Token).ToArray() });
        if (text.Contains("@lease", StringComparison.Ordinal))
        {
            command.Parameters.Add(new NpgsqlParameter("lease", NpgsqlDbType.Interval) { Value = TimeSpan.FromSeconds(30) });
        }

        if (statement == "extend-held")
        {
            return await command.ExecuteNonQueryAsync(ct);
        }

        var rows = 0;
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows++;
        }

        return rows;
    }

    // The server's own view (pg_stat_activity, read outside any transaction: a transaction keeps its first snapshot of
    // it), polled: there is no event to wait on for "a backend started waiting".
    private static async Task WaitUntilWaitingOnALockAsync(NpgsqlConnection observer, string applicationName, Task write, CancellationToken ct)
    {
        while (true)
        {
            if (write.IsCompleted)
            {
                await write;
                Assert.Fail("the write finished although a row it writes was locked");
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

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(ct);
    }
}
