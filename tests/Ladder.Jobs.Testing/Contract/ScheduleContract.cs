namespace Ladder.Jobs.Testing.Contract;

/// <summary>
/// The schedule rows of a store (JobStore.UpsertScheduleAsync ... RemoveScheduleAsync): upserts keep or move the next
/// tick by the spec, the due read, the fire's compare-and-set with the tick's job in one transaction, the tick's unique
/// key as the second fence, orphans, and three stores on one location firing every tick at once. The scheduler's tick
/// arithmetic (cron, zones, daylight-saving days, missed ticks) is the core's, tested in Ladder.Jobs.Tests.
/// </summary>
public abstract class ScheduleContract : JobStoreContract
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    private async Task<JobStore> StoreAsync() => (await OpenAsync()).Store;

    private static NewJob Job(string name, DateTimeOffset tick) =>
        new("default", "tick", "{}", 0, null, TimeSpan.Zero, 3, null, $"ladder-schedule:{name}@{tick.ToUnixTimeMilliseconds()}", null);

    [Test]
    [CancelAfter(60_000)]
    public async Task Upsert_KeepsTheNextTick_ForTheSameSpec_AndMovesItWithANewVersion_ForAChangedOne(CancellationToken ct)
    {
        var store = await StoreAsync();
        var first = await store.UpsertScheduleAsync(new ScheduleUpsert("a", "spec-1", true, T0), ct);
        first.Should().Be(new ScheduleRow("a", "spec-1", true, false, false, T0, null, null, 1));

        var same = await store.UpsertScheduleAsync(new ScheduleUpsert("a", "spec-1", false, T0.AddHours(1)), ct);
        same.NextTick.Should().Be(T0, "an unchanged spec keeps its next tick");
        same.Version.Should().Be(1);
        same.DeclaredInCode.Should().BeFalse("the origin is the last upsert's");

        var changed = await store.UpsertScheduleAsync(new ScheduleUpsert("a", "spec-2", true, T0.AddHours(2)), ct);
        changed.Should().Be(new ScheduleRow("a", "spec-2", true, false, false, T0.AddHours(2), null, null, 2));
        (await store.GetSchedulesAsync(ct)).Should().Equal(changed);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task GetDue_ReturnsActiveDueRows_EarliestFirst_AndTheNextTickAfterThem(CancellationToken ct)
    {
        var store = await StoreAsync();
        await store.UpsertScheduleAsync(new ScheduleUpsert("late", "s", true, T0.AddMinutes(-1)), ct);
        await store.UpsertScheduleAsync(new ScheduleUpsert("later", "s", true, T0), ct);
        await store.UpsertScheduleAsync(new ScheduleUpsert("early", "s", true, T0.AddMinutes(-5)), ct);
        await store.UpsertScheduleAsync(new ScheduleUpsert("paused", "s", true, T0.AddMinutes(-9)), ct);
        await store.UpsertScheduleAsync(new ScheduleUpsert("orphan", "s", true, T0.AddMinutes(-9)), ct);
        await store.UpsertScheduleAsync(new ScheduleUpsert("never", "s", true, null), ct);
        await store.UpsertScheduleAsync(new ScheduleUpsert("future", "s", true, T0.AddMinutes(7)), ct);
        await store.UpsertScheduleAsync(new ScheduleUpsert("paused-soon", "s", true, T0.AddMinutes(1)), ct);
        (await store.SetSchedulePausedAsync("paused", true, ct)).Should().BeTrue();
        (await store.SetSchedulePausedAsync("paused-soon", true, ct)).Should().BeTrue();
        (await store.MarkScheduleOrphanedAsync("orphan", 1, ct)).Should().BeTrue();

        var due = await store.GetDueSchedulesAsync(T0, 10, ct);
        due.Due.Select(r => r.Name).Should().Equal("early", "late", "later");
        due.NextTick.Should().Be(T0.AddMinutes(7));

        var limited = await store.GetDueSchedulesAsync(T0, 2, ct);
        limited.Due.Select(r => r.Name).Should().Equal("early", "late");

        var none = await store.GetDueSchedulesAsync(T0.AddHours(-1), 10, ct);
        none.Due.Should().BeEmpty();
        none.NextTick.Should().Be(T0.AddMinutes(-5));
        (await store.GetSchedulesAsync(ct)).Select(r => r.Name).Should().Equal("early", "future", "late", "later", "never", "orphan", "paused", "paused-soon");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Fire_IsACompareAndSet_OnTheNextTickAndVersion_AndInsertsTheTicksJobWithIt(CancellationToken ct)
    {
        var store = await StoreAsync();
        await store.UpsertScheduleAsync(new ScheduleUpsert("a", "s", true, T0), ct);

        var fired = await store.FireScheduleAsync(new ScheduleFire("a", 1, T0, T0.AddMinutes(1), Job("a", T0), T0));
        fired.Advanced.Should().BeTrue();
        fired.Job.Should().NotBeNull();
        fired.Job!.Value.Inserted.Should().BeTrue();

        // The same tick again (another host's stale read): nothing written.
        (await store.FireScheduleAsync(new ScheduleFire("a", 1, T0, T0.AddMinutes(1), Job("a", T0), T0))).Should().Be(new ScheduleFireResult(false, null));
        // A stale version, a paused row, a removed row: nothing written either.
        (await store.FireScheduleAsync(new ScheduleFire("a", 2, T0.AddMinutes(1), T0.AddMinutes(2), Job("a", T0.AddMinutes(1)), T0.AddMinutes(1)))).Advanced.Should().BeFalse();
        await store.SetSchedulePausedAsync("a", true, ct);
        (await store.FireScheduleAsync(new ScheduleFire("a", 1, T0.AddMinutes(1), T0.AddMinutes(2), Job("a", T0.AddMinutes(1)), T0.AddMinutes(1)))).Advanced.Should().BeFalse();
        (await store.FireScheduleAsync(new ScheduleFire("gone", 1, T0, T0.AddMinutes(1), Job("gone", T0), T0))).Advanced.Should().BeFalse();

        var row = (await store.GetSchedulesAsync(ct)).Single();
        row.Should().Be(new ScheduleRow("a", "s", true, true, false, T0.AddMinutes(1), T0, fired.Job.Value.JobId, 1));
        var job = await store.GetJobAsync(fired.Job.Value.JobId, ct);
        job!.Summary.Kind.Should().Be("tick");
        job.Summary.UniqueKey.Should().Be($"ladder-schedule:a@{T0.ToUnixTimeMilliseconds()}");
        (await store.GetCountsAsync(null, ct)).Sum(c => c.Count).Should().Be(1);

        // Resumed: the kept next tick fires; a fire without a job (a skipped tick) advances and records no job.
        await store.SetSchedulePausedAsync("a", false, ct);
        (await store.FireScheduleAsync(new ScheduleFire("a", 1, T0.AddMinutes(1), T0.AddMinutes(2), null, null))).Should().Be(new ScheduleFireResult(true, null));
        (await store.GetSchedulesAsync(ct)).Single().Should().Be(new ScheduleRow("a", "s", true, false, false, T0.AddMinutes(2), T0, fired.Job.Value.JobId, 1));
        (await store.GetCountsAsync(null, ct)).Sum(c => c.Count).Should().Be(1);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Fire_OfAResume_MatchesOnlyThePausedRow_AndUnpausesItInTheSameWrite(CancellationToken ct)
    {
        // A resume settles the ticks of its pause in the write that unpauses the row: no scheduler sees it active with
        // those ticks still ahead (before, the unpause and the fire were two writes).
        var store = await StoreAsync();
        await store.UpsertScheduleAsync(new ScheduleUpsert("a", "s", true, T0), ct);
        (await store.FireScheduleAsync(new ScheduleFire("a", 1, T0, T0.AddMinutes(1), null, null) { Resume = true })).Advanced
            .Should().BeFalse("an active row is no resume's");
        await store.SetSchedulePausedAsync("a", true, ct);
        (await store.FireScheduleAsync(new ScheduleFire("a", 2, T0, T0.AddMinutes(1), null, null) { Resume = true })).Advanced
            .Should().BeFalse("a stale version");
        (await store.FireScheduleAsync(new ScheduleFire("a", 1, T0.AddMinutes(-1), T0.AddMinutes(1), null, null) { Resume = true })).Advanced
            .Should().BeFalse("a stale next tick");
        (await store.GetSchedulesAsync(ct)).Single().Should().Be(new ScheduleRow("a", "s", true, true, false, T0, null, null, 1));

        var resumed = await store.FireScheduleAsync(new ScheduleFire("a", 1, T0, T0.AddMinutes(5), Job("a", T0), T0) { Resume = true });

        resumed.Advanced.Should().BeTrue();
        resumed.Job!.Value.Inserted.Should().BeTrue();
        (await store.GetSchedulesAsync(ct)).Single().Should().Be(new ScheduleRow("a", "s", true, false, false, T0.AddMinutes(5), T0, resumed.Job.Value.JobId, 1));
        (await store.FireScheduleAsync(new ScheduleFire("a", 1, T0.AddMinutes(5), T0.AddMinutes(6), null, null) { Resume = true })).Advanced
            .Should().BeFalse("the row is active again: a second resume's fire finds nothing to settle");
        (await store.GetCountsAsync(null, ct)).Sum(c => c.Count).Should().Be(1);

        // A resume's fire without a job (the Skip policy) unpauses and advances, and records no job.
        await store.SetSchedulePausedAsync("a", true, ct);
        (await store.FireScheduleAsync(new ScheduleFire("a", 1, T0.AddMinutes(5), T0.AddMinutes(6), null, null) { Resume = true })).Should().Be(new ScheduleFireResult(true, null));
        (await store.GetSchedulesAsync(ct)).Single().Should().Be(new ScheduleRow("a", "s", true, false, false, T0.AddMinutes(6), T0, resumed.Job.Value.JobId, 1));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Fire_OfATickWhoseJobExists_ReturnsThatJob_TheUniqueKeyIsTheSecondFence(CancellationToken ct)
    {
        var store = await StoreAsync();
        await store.UpsertScheduleAsync(new ScheduleUpsert("a", "s", true, T0), ct);
        var first = await store.FireScheduleAsync(new ScheduleFire("a", 1, T0, T0.AddMinutes(1), Job("a", T0), T0));

        // Removed and set again with the same first tick: the row's fence is gone, the tick's key is not.
        (await store.RemoveScheduleAsync("a", ct)).Should().BeTrue();
        (await store.RemoveScheduleAsync("a", ct)).Should().BeFalse();
        await store.UpsertScheduleAsync(new ScheduleUpsert("a", "s", true, T0), ct);
        var again = await store.FireScheduleAsync(new ScheduleFire("a", 1, T0, T0.AddMinutes(1), Job("a", T0), T0));

        again.Advanced.Should().BeTrue();
        again.Job.Should().Be(new EnqueueResult(first.Job!.Value.JobId, Inserted: false));
        (await store.GetCountsAsync(null, ct)).Sum(c => c.Count).Should().Be(1);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task MarkOrphaned_IsACompareAndSet_OnTheVersion_AndAnUpsertClearsIt(CancellationToken ct)
    {
        var store = await StoreAsync();
        await store.UpsertScheduleAsync(new ScheduleUpsert("code", "s", true, T0), ct);
        await store.UpsertScheduleAsync(new ScheduleUpsert("runtime", "s", false, T0), ct);
        await store.UpsertScheduleAsync(new ScheduleUpsert("code", "s2", true, T0), ct); // version 2

        (await store.MarkScheduleOrphanedAsync("code", 1, ct)).Should().BeFalse("the row changed since version 1 was read");
        (await store.MarkScheduleOrphanedAsync("runtime", 1, ct)).Should().BeFalse("a schedule set at run time is never an orphan of code");
        (await store.MarkScheduleOrphanedAsync("code", 2, ct)).Should().BeTrue();
        (await store.MarkScheduleOrphanedAsync("code", 2, ct)).Should().BeFalse("already marked");
        (await store.GetSchedulesAsync(ct)).Single(r => r.Name == "code").Orphaned.Should().BeTrue();
        (await store.FireScheduleAsync(new ScheduleFire("code", 2, T0, T0.AddMinutes(1), Job("code", T0), T0))).Advanced.Should().BeFalse("an orphan never fires");
        (await store.GetDueSchedulesAsync(T0, 10, ct)).Due.Select(r => r.Name).Should().Equal("runtime");

        var declaredAgain = await store.UpsertScheduleAsync(new ScheduleUpsert("code", "s2", true, T0.AddDays(1)), ct);
        declaredAgain.Orphaned.Should().BeFalse();
        declaredAgain.NextTick.Should().Be(T0);
        (await store.SetSchedulePausedAsync("nothing", true, ct)).Should().BeFalse();
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task ThreeStoresOnOneDatabase_FiringEveryTickAtOnce_AdvanceItOnce_WithOneJobPerTick(CancellationToken ct)
    {
        const int Ticks = 30;
        var first = await OpenAsync();
        var stores = new[] { first.Store, (await OpenSiblingAsync(first)).Store, (await OpenSiblingAsync(first)).Store };
        await Task.WhenAll(stores.Select(s => s.UpsertScheduleAsync(new ScheduleUpsert("a", "s", true, T0), ct)));
        var advanced = 0;
        var inserted = 0;
        for (var i = 0; i < Ticks; i++)
        {
            var now = T0.AddMinutes(i);
            using var gate = new ManualResetEventSlim();
            var hosts = stores.Select(store => Task.Run(
                async () =>
                {
                    gate.Wait(ct);
                    // Each host reads, then fires what it read: the reads may all see the same row.
                    var due = await store.GetDueSchedulesAsync(now, 10, ct);
                    foreach (var row in due.Due)
                    {
                        var result = await store.FireScheduleAsync(new ScheduleFire(row.Name, row.Version, row.NextTick!.Value, row.NextTick.Value.AddMinutes(1), Job(row.Name, row.NextTick.Value), row.NextTick));
                        if (result.Advanced)
                        {
                            Interlocked.Increment(ref advanced);
                        }

                        if (result.Job is { Inserted: true })
                        {
                            Interlocked.Increment(ref inserted);
                        }
                    }
                },
                ct)).ToArray();
            gate.Set();
            await Task.WhenAll(hosts);
        }

        advanced.Should().Be(Ticks);
        inserted.Should().Be(Ticks);
        var jobs = await stores[0].GetJobsAsync(new JobQuery(JobState.Ready, PageSize: 100), ct);
        jobs.Jobs.Select(j => j.UniqueKey).Should().OnlyHaveUniqueItems().And.HaveCount(Ticks);
        (await stores[1].GetSchedulesAsync(ct)).Single().NextTick.Should().Be(T0.AddMinutes(Ticks));
    }
}
