using Ladder.Jobs.PostgreSql.Tests.Support;
using Ladder.Jobs.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Ladder.Jobs.PostgreSql.Tests;

/// <summary>
/// When the claim hands its jobs over (JobStore.ClaimAsync's onClaimed): as they commit, before the next-run query a short
/// claim runs after them, and once per transaction that took jobs, together every job of the batch.
/// </summary>
public sealed class ClaimHandOverTests
{
    private string _database = "";

    [OneTimeSetUp]
    public async Task CreateDatabaseAsync() => _database = await Server.NewDatabaseAsync();

    [Test]
    [CancelAfter(60_000)]
    public async Task AShortClaim_HandsItsJobsOverBeforeItsNextRunQuery(CancellationToken ct)
    {
        var schema = Server.NewName("h");
        await using var h = await Harness.OpenAsync(_database, schema, o => o.UseListenNotify = false, cancellationToken: ct);
        await h.Store.EnqueueAsync([TestJobs.New(), TestJobs.New(delay: TimeSpan.FromHours(1))], ct);

        // The callback locks the table from another session: whatever the claim still reads after the hand-over waits.
        await using var locker = await h.DataSource.OpenConnectionAsync(ct);
        await using var lockTransaction = await locker.BeginTransactionAsync(ct);
        IReadOnlyList<ClaimedJob>? handedOver = null;
        var claim = Task.Run(() => h.Store.ClaimAsync(TestJobs.Claim(limit: 10), batch =>
        {
            handedOver = batch.Jobs;
            using var command = new NpgsqlCommand($"LOCK TABLE {schema}.jobs IN ACCESS EXCLUSIVE MODE", locker, lockTransaction);
            command.ExecuteNonQuery();
        }), ct);

        // The claim's next-run query waits for the lock: so it runs after the jobs were handed over.
        await WaitForLockWaiterAsync(h.DataSource, schema, ct);
        claim.IsCompleted.Should().BeFalse("the claim's next-run query is still waiting for the lock");
        handedOver.Should().ContainSingle();

        await lockTransaction.RollbackAsync(ct);
        var result = await claim;
        result.Jobs.Should().Equal(handedOver);
        result.NextRunIn.Should().BeCloseTo(TimeSpan.FromHours(1), TimeSpan.FromMinutes(1), "the delayed job is the next runnable one");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AClaimThatFindsKeyedWorkAfterItsPlainJobs_HandsEachTransactionsJobsOverOnce(CancellationToken ct)
    {
        var schema = Server.NewName("h");
        await using var h = await Harness.OpenAsync(_database, schema, o => o.UseListenNotify = false, cancellationToken: ct);
        await using var otherHost = await Harness.OpenAsync(_database, schema, o => o.UseListenNotify = false, cancellationToken: ct);

        // Keyed jobs enqueued by another host: this one does not know the queue has keyed work, so its plain claim
        // runs first, the next-run query finds the keyed jobs, and a limited claim takes them into what is left, in a
        // transaction of its own.
        await otherHost.Store.EnqueueAsync([TestJobs.New(), TestJobs.New(), TestJobs.New() with { ConcurrencyKey = "k", ConcurrencyLimit = 1 }, TestJobs.New() with { ConcurrencyKey = "k", ConcurrencyLimit = 1 }], ct);
        var calls = new List<ClaimBatch>();

        var result = await h.Store.ClaimAsync(TestJobs.Claim(limit: 10), calls.Add);

        calls.Should().HaveCount(2);
        calls[0].Jobs.Should().HaveCount(2).And.OnlyContain(j => j.Lease.Token == result.Jobs[0].Lease.Token);
        calls[1].Jobs.Should().ContainSingle("the key's limit is 1");
        calls.SelectMany(c => c.Jobs).Should().Equal(result.Jobs, "together the calls carry every job of the batch, each once");
        calls.Sum(c => c.HeldBack).Should().Be(result.HeldBack);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ANextRunQueryThatFailsAfterTheHandOver_IsLogged_AndTheClaimReturnsTheJobsItHandedOver(CancellationToken ct)
    {
        // A lock_timeout on the store's sessions: the next-run query, waiting for the table lock the callback takes, fails.
        var schema = Server.NewName("h");
        await using var h = await Harness.OpenAsync(_database, schema, o => o.UseListenNotify = false, connection: b => b.Options = "-c lock_timeout=200", cancellationToken: ct);
        await h.Store.EnqueueAsync([TestJobs.New()], ct);
        await using var locker = await h.DataSource.OpenConnectionAsync(ct);
        await using var lockTransaction = await locker.BeginTransactionAsync(ct);
        IReadOnlyList<ClaimedJob>? handedOver = null;

        var result = await Task.Run(() => h.Store.ClaimAsync(TestJobs.Claim(limit: 10), batch =>
        {
            handedOver = batch.Jobs;
            using var command = new NpgsqlCommand($"LOCK TABLE {schema}.jobs IN ACCESS EXCLUSIVE MODE", locker, lockTransaction);
            command.ExecuteNonQuery();
        }), ct);

        result.Jobs.Should().ContainSingle().And.Equal(handedOver, "the claim does not fail once its jobs are handed over: the processor counts its slots by it");
        result.NextRunIn.Should().BeNull();
        h.Logs.Entries.Should().ContainSingle(e => e.EventId == 3109).Which.Level.Should().Be(LogLevel.Warning);
        await lockTransaction.RollbackAsync(ct);
        (await h.Store.CompleteAsync(result.Jobs[0].Lease)).Should().BeTrue("the claimed job's lease holds");
    }

    // This database's next-run query on this schema waiting for a lock (other tests and runs share the server).
    private static async Task WaitForLockWaiterAsync(NpgsqlDataSource dataSource, string schema, CancellationToken ct)
    {
        while (true)
        {
            await using var command = dataSource.CreateCommand(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' " +
                "AND query LIKE '%WITH RECURSIVE firsts%' AND strpos(query, @schema || '.jobs') > 0");
            command.Parameters.AddWithValue("schema", schema);
            if ((long)(await command.ExecuteScalarAsync(ct))! > 0)
            {
                return;
            }

            await Task.Delay(20, ct);
        }
    }
}
