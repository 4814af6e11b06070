using Ladder.Jobs.PostgreSql.Tests.Support;
using Ladder.Jobs.Storage;
using Npgsql;

namespace Ladder.Jobs.PostgreSql.Tests;

/// <summary>
/// PostgresJobStoreOptions.PrepareStatements: the frequent statements are prepared once per physical connection (on by
/// default), and nothing is prepared when it is off (a pooler in transaction mode that cannot keep them).
/// </summary>
public sealed class PreparedStatementTests
{
    private string _database = "";

    [OneTimeSetUp]
    public async Task CreateDatabaseAsync() => _database = await Server.NewDatabaseAsync();

    [Test]
    [CancelAfter(60_000)]
    public async Task ByDefault_TheFrequentStatementsArePreparedOncePerConnection(CancellationToken ct)
    {
        // One physical connection (no listener, a pool of one): every statement of the store runs on it.
        await using var h = await Harness.OpenAsync(_database, Server.NewName("p"), o => o.UseListenNotify = false, connection: OnePhysicalConnection, cancellationToken: ct);

        await RunOneOfEachAsync(h.Store, ct);
        var first = await PreparedAsync(h.DataSource, ct);
        await RunOneOfEachAsync(h.Store, ct);
        var second = await PreparedAsync(h.DataSource, ct);

        first.Should().Contain(s => s.Contains("INSERT INTO", StringComparison.Ordinal), "the enqueue")
            .And.Contain(s => s.Contains("FOR UPDATE SKIP LOCKED", StringComparison.Ordinal) && s.Contains("SET state = 2", StringComparison.Ordinal), "the claim")
            .And.Contain(s => s.Contains("WITH RECURSIVE firsts", StringComparison.Ordinal), "the next-run query")
            .And.Contain(s => s.Contains("SET state = 3", StringComparison.Ordinal), "the completion")
            .And.Contain(s => s.Contains("SET state = CASE WHEN $", StringComparison.Ordinal), "the failed attempt")
            .And.Contain(s => s.Contains("SET lease_expires_at = ", StringComparison.Ordinal) && s.Contains("m.state", StringComparison.Ordinal), "the heartbeat");
        second.Should().BeEquivalentTo(first, "a statement is prepared once per connection and reused by every later run on it");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Off_NothingIsPrepared_AndTheStoreWorksTheSame(CancellationToken ct)
    {
        await using var h = await Harness.OpenAsync(_database, Server.NewName("p"), o => (o.UseListenNotify, o.PrepareStatements) = (false, false), connection: OnePhysicalConnection, cancellationToken: ct);

        var (completed, failed) = await RunOneOfEachAsync(h.Store, ct);

        (await PreparedAsync(h.DataSource, ct)).Should().BeEmpty();
        (await h.Store.GetJobAsync(completed, ct))!.Summary.State.Should().Be(JobState.Succeeded);
        (await h.Store.GetJobAsync(failed, ct))!.Summary.State.Should().Be(JobState.Failed);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task OnAMultiplexingDataSource_PlainAndKeyedJobsRun_Unprepared(CancellationToken ct)
    {
        // Npgsql refuses explicit preparation with Multiplexing on (NotSupportedException): the store skips it there.
        await using var h = await Harness.OpenAsync(_database, Server.NewName("p"), o => o.UseListenNotify = false, connection: b => b.Multiplexing = true, cancellationToken: ct);

        var (completed, failed) = await RunOneOfEachAsync(h.Store, ct);
        var keyedId = (await h.Store.EnqueueAsync([TestJobs.New() with { ConcurrencyKey = "k", ConcurrencyLimit = 1 }], ct))[0].JobId;
        var keyed = (await h.Store.ClaimAsync(TestJobs.Claim(limit: 10), null)).Jobs;

        keyed.Should().ContainSingle().Which.Id.Should().Be(keyedId, "the keyed job, through the limited claim");
        (await h.Store.CompleteAsync(keyed[0].Lease)).Should().BeTrue();
        (await h.Store.GetJobAsync(completed, ct))!.Summary.State.Should().Be(JobState.Succeeded);
        (await h.Store.GetJobAsync(failed, ct))!.Summary.State.Should().Be(JobState.Failed);
    }

    private static void OnePhysicalConnection(NpgsqlConnectionStringBuilder b) => (b.MinPoolSize, b.MaxPoolSize) = (1, 1);

    // An enqueue, a claim that comes up short (so the next-run query runs), a heartbeat, a completion and a failed attempt.
    private static async Task<(long Completed, long Failed)> RunOneOfEachAsync(PostgresJobStore store, CancellationToken ct)
    {
        await store.EnqueueAsync([TestJobs.New(), TestJobs.New()], ct);
        var claimed = (await store.ClaimAsync(TestJobs.Claim(limit: 10), null)).Jobs;
        claimed.Should().HaveCount(2);
        (await store.HeartbeatAsync([.. claimed.Select(static j => j.Lease)], TimeSpan.FromMinutes(1))).Should().BeEmpty("both leases hold");
        (await store.CompleteAsync(claimed[0].Lease)).Should().BeTrue();
        var failure = new JobFailure(1, claimed[1].StartedAt, Dead: false, TimeSpan.FromMinutes(5), "System.Exception", "boom", "stack");
        (await store.FailAsync(claimed[1].Lease, failure)).Should().Be(FailOutcome.Retrying);
        return (claimed[0].Id, claimed[1].Id);
    }

    private static async Task<List<string>> PreparedAsync(NpgsqlDataSource dataSource, CancellationToken ct)
    {
        // pg_prepared_statements lists the current session's statements: with a pool of one, the store's session.
        await using var command = dataSource.CreateCommand("SELECT statement FROM pg_prepared_statements");
        await using var reader = await command.ExecuteReaderAsync(ct);
        var statements = new List<string>();
        while (await reader.ReadAsync(ct))
        {
            statements.Add(reader.GetString(0));
        }

        return statements;
    }
}
