using Ladder.Jobs.PostgreSql.Tests.Support;
using Ladder.Jobs.Storage;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace Ladder.Jobs.PostgreSql.Tests;

/// <summary>Several stores on one schema, as several hosts: the database clock, unique keys, transactional enqueue and wake-ups.</summary>
public sealed class MultiHostTests
{
    private string _database = "";

    [OneTimeSetUp]
    public async Task CreateDatabaseAsync() => _database = await Server.NewDatabaseAsync();

    [Test]
    [CancelAfter(60_000)]
    public async Task AHostWhoseClockRunsTenMinutesAhead_DoesNotRescueAnotherHostsLiveJobs(CancellationToken ct)
    {
        var schema = Server.NewName("skew");
        await using var a = await Harness.OpenAsync(_database, schema, cancellationToken: ct);
        var ahead = new FakeTimeProvider(TimeProvider.System.GetUtcNow().AddMinutes(10));
        await using var b = await Harness.OpenAsync(_database, schema, time: ahead, cancellationToken: ct);
        await a.Store.EnqueueAsync([TestJobs.New(), TestJobs.New()], ct);
        var live = (await a.Store.ClaimAsync(TestJobs.Claim(limit: 1, lease: TimeSpan.FromSeconds(30)), null)).Jobs.Should().ContainSingle().Subject;
        var expired = (await a.Store.ClaimAsync(TestJobs.Claim(limit: 1, lease: TimeSpan.Zero), null)).Jobs.Should().ContainSingle().Subject;

        var rescued = await b.Store.RescueExpiredAsync(new RescueRequest([], TimeSpan.FromSeconds(30), 3));

        rescued.Should().Be(new RescueResult(1, 0, 0), "only the lease that expired by the database clock is rescued");
        (await a.Store.GetJobAsync(live.Id, ct))!.Summary.State.Should().Be(JobState.Running);
        (await a.Store.GetJobAsync(expired.Id, ct))!.Summary.State.Should().Be(JobState.Ready);
        (await a.Store.CompleteAsync(live.Lease)).Should().BeTrue();

        // The same host reading its own clock (the tests' context-clock mode) would have taken the live lease.
        await a.Store.EnqueueAsync([TestJobs.New()], ct);
        var another = (await a.Store.ClaimAsync(TestJobs.Claim(limit: 5, lease: TimeSpan.FromSeconds(30)), null)).Jobs;
        await using var byHostClock = await Harness.OpenAsync(_database, schema, o => o.UseContextClock = true, ahead, cancellationToken: ct);
        (await byHostClock.Store.RescueExpiredAsync(new RescueRequest([], TimeSpan.FromSeconds(30), 3))).Rescued.Should().Be(another.Count);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task UniqueKeysFromThreeHostsAtOnce_MakeOneJob(CancellationToken ct)
    {
        var schema = Server.NewName("uniq");
        await using var a = await Harness.OpenAsync(_database, schema, cancellationToken: ct);
        await using var b = await Harness.OpenAsync(_database, schema, cancellationToken: ct);
        await using var c = await Harness.OpenAsync(_database, schema, cancellationToken: ct);
        PostgresJobStore[] hosts = [a.Store, b.Store, c.Store];
        for (var round = 0; round < 20; round++)
        {
            using var gate = new SemaphoreSlim(0);
            var key = $"key-{round}";
            var enqueues = hosts.Select(async host =>
            {
                await gate.WaitAsync(ct);
                return (await host.EnqueueAsync([TestJobs.New(uniqueKey: key), TestJobs.New(uniqueKey: key)], ct)).ToList();
            }).ToList();
            gate.Release(3);
            var results = (await Task.WhenAll(enqueues)).SelectMany(r => r).ToList();

            results.Count(r => r.Inserted).Should().Be(1, $"round {round}");
            results.Select(r => r.JobId).Distinct().Should().ContainSingle($"round {round}: every enqueue returns the one job");
        }

        (await a.Store.GetCountsAsync(null, ct)).Should().Equal(new QueueStateCount("default", JobState.Ready, 20));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task TransactionalEnqueue_CommitsJobAndWakeUp_WithTheCallersWrites_OrNeither(CancellationToken ct)
    {
        var schema = Server.NewName("tx");
        await using var listener = await Harness.OpenAsync(_database, schema, cancellationToken: ct);
        await using var host = await Harness.OpenAsync(_database, schema, cancellationToken: ct);
        await using (var create = host.DataSource.CreateCommand($"CREATE TABLE {schema}.orders(id int)"))
        {
            await create.ExecuteNonQueryAsync(ct);
        }

        long committedId;
        await using (var connection = await host.DataSource.OpenConnectionAsync(ct))
        await using (var transaction = await connection.BeginTransactionAsync(ct))
        {
            await new NpgsqlCommand($"INSERT INTO {schema}.orders VALUES (1)", connection, transaction).ExecuteNonQueryAsync(ct);
            var enlistment = host.Store.Enlist(transaction);
            committedId = (await enlistment.InsertAsync(TestJobs.New(queue: "committed"), ct)).JobId;
            (await host.Store.GetJobAsync(committedId, ct)).Should().BeNull("not visible before the commit");
            await enlistment.CommitAsync(ct);
        }

        await listener.WaitForWokenAsync("committed", 1, ct);
        (await host.Store.GetJobAsync(committedId, ct))!.Summary.Queue.Should().Be("committed");

        long rolledBackId;
        await using (var connection = await host.DataSource.OpenConnectionAsync(ct))
        await using (var transaction = await connection.BeginTransactionAsync(ct))
        {
            await new NpgsqlCommand($"INSERT INTO {schema}.orders VALUES (2)", connection, transaction).ExecuteNonQueryAsync(ct);
            rolledBackId = (await host.Store.Enlist(transaction).InsertAsync(TestJobs.New(queue: "rolled_back"), ct)).JobId;
            await transaction.RollbackAsync(ct);
        }

        // Notifications arrive in commit order: once the marker's has arrived, a wake-up of the rollback would have too.
        await host.Store.EnqueueAsync([TestJobs.New(queue: "marker")], ct);
        await listener.WaitForWokenAsync("marker", 1, ct);
        listener.Woken.Should().NotContain("rolled_back");
        (await host.Store.GetJobAsync(rolledBackId, ct)).Should().BeNull();
        await using var orders = host.DataSource.CreateCommand($"SELECT count(*) FROM {schema}.orders");
        (await orders.ExecuteScalarAsync(ct)).Should().Be(1L);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Enlist_RefusesATransactionOnAnotherDatabase(CancellationToken ct)
    {
        var other = await Server.NewDatabaseAsync();
        await using var host = await Harness.OpenAsync(_database, Server.NewName("other"), cancellationToken: ct);
        await using var connection = new NpgsqlConnection(other);
        await connection.OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);

        var enlist = () => host.Store.Enlist(transaction);

        enlist.Should().Throw<ArgumentException>().WithMessage("*would not reach this queue*");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task NotifyIsDebouncedPerQueue_AndTheLastEnqueueOfABurstStillWakes(CancellationToken ct)
    {
        var schema = Server.NewName("debounce");
        await using var listener = await Harness.OpenAsync(_database, schema, cancellationToken: ct);
        await using var host = await Harness.OpenAsync(_database, schema, o => o.NotifyDebounce = TimeSpan.FromSeconds(2), cancellationToken: ct);

        for (var i = 0; i < 20; i++)
        {
            await host.Store.EnqueueAsync([TestJobs.New(queue: "burst")], ct);
        }

        // One NOTIFY inside the first enqueue's transaction, one when the window ends for the other 19.
        await listener.WaitForWokenAsync("burst", 2, ct);
        await host.Store.EnqueueAsync([TestJobs.New(queue: "marker")], ct);
        await listener.WaitForWokenAsync("marker", 1, ct);
        listener.Woken.Count(q => q == "burst").Should().Be(2);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ARescue_WakesTheOtherHostsWithItsCommit_AlsoInsideTheRescuersNotifyWindow(CancellationToken ct)
    {
        var schema = Server.NewName("rescue");
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var listener = await Harness.OpenAsync(_database, schema, o => o.UseContextClock = true, time, cancellationToken: ct);
        await using var rescuer = await Harness.OpenAsync(_database, schema, o =>
        {
            o.UseContextClock = true;
            o.NotifyDebounce = TimeSpan.FromSeconds(10);
        }, time, cancellationToken: ct);

        // The rescuer's enqueue notifies in its transaction and opens its 10 s window (real time) for the queue.
        await rescuer.Store.EnqueueAsync([TestJobs.New(queue: "cut")], ct);
        await listener.WaitForWokenAsync("cut", 1, ct);
        (await listener.Store.ClaimAsync(TestJobs.Claim(queue: "cut", lease: TimeSpan.FromSeconds(5)), null)).Jobs.Should().ContainSingle("a host claims it, then dies");
        time.Advance(TimeSpan.FromSeconds(6));

        (await rescuer.Store.RescueExpiredAsync(new RescueRequest([], TimeSpan.FromSeconds(5), MaxRescues: 3))).Should().Be(new RescueResult(1, 0, 0));

        // Before, the rescue's NOTIFY was sent after its commit at the end of that window, 10 s after the enqueue; the
        // job, which had waited a whole lease already, waited that long again for an idle host's poll or wake-up.
        await listener.WaitForWokenAsync("cut", 2, ct).WaitAsync(TimeSpan.FromSeconds(5), ct);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ARescueThatPutNothingBack_NotifiesNobody(CancellationToken ct)
    {
        var schema = Server.NewName("rescue");
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var listener = await Harness.OpenAsync(_database, schema, o => o.UseContextClock = true, time, cancellationToken: ct);
        await using var rescuer = await Harness.OpenAsync(_database, schema, o => o.UseContextClock = true, time, cancellationToken: ct);
        await rescuer.Store.EnqueueAsync([TestJobs.New(queue: "live")], ct);
        await listener.WaitForWokenAsync("live", 1, ct);
        (await listener.Store.ClaimAsync(TestJobs.Claim(queue: "live", lease: TimeSpan.FromSeconds(5)), null)).Jobs.Should().ContainSingle();

        (await rescuer.Store.RescueExpiredAsync(new RescueRequest([], TimeSpan.FromSeconds(5), MaxRescues: 3))).Should().Be(new RescueResult(0, 0, 0), "the lease holds");
        await rescuer.Store.EnqueueAsync([TestJobs.New(queue: "marker")], ct);

        await listener.WaitForWokenAsync("marker", 1, ct);
        listener.Woken.Count(q => q == "live").Should().Be(1, "only the enqueue notified");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task PollOnly_SendsNoNotification(CancellationToken ct)
    {
        var schema = Server.NewName("poll");
        await using var listener = await Harness.OpenAsync(_database, schema, cancellationToken: ct);
        await using var host = await Harness.OpenAsync(_database, schema, o => o.UseListenNotify = false, cancellationToken: ct);

        await host.Store.EnqueueAsync([TestJobs.New(queue: "quiet")], ct);
        await listener.Store.EnqueueAsync([TestJobs.New(queue: "marker")], ct);

        await listener.WaitForWokenAsync("marker", 1, ct);
        listener.Woken.Should().NotContain("quiet");
        host.Woken.Should().BeEmpty("a poll-only store does not listen");
        host.Store.IsListening.Should().BeFalse();
    }
}
