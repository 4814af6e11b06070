using Ladder.Testing;
using Ladder.Jobs.Tests.Support;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Ladder.Jobs.Tests.Scheduling;

/// <summary>The scheduler on the SQLite store, driven through weeks of ticks by a fake clock.</summary>
public sealed class SchedulerTests : TempFolderTests
{
    private static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
    private static readonly JobRequest Tick = new("tick", "{}");
    private readonly List<IAsyncDisposable> _owned = [];

    [TearDown]
    public async Task DisposeOwnedAsync()
    {
        // Schedulers first (they were added after their queues), then the queues.
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            await _owned[i].DisposeAsync();
        }

        _owned.Clear();
    }

    private JobQueue Queue(TimeProvider time, string file = "jobs.db", ILoggerFactory? logs = null)
    {
        var queue = JobQueue.Open(new LadderJobsOptions { Path = Folder.File(file), Synchronous = SynchronousMode.Normal }, time, logs);
        _owned.Add(queue);
        return queue;
    }

    /// <summary>A queue on a fake clock at 2026-06-01 08:00 UTC, the start most tests tick from.</summary>
    private (DateTimeOffset Start, FakeTimeProvider Time, JobQueue Queue) ClockedQueue()
    {
        var start = new DateTimeOffset(2026, 6, 1, 8, 0, 0, TimeSpan.Zero);
        var time = new FakeTimeProvider(start);
        return (start, time, Queue(time));
    }

    private JobScheduler Scheduler(JobQueue queue, params JobSchedule[] declared) => Scheduler(queue, new JobSchedulerOptions(), declared);

    private JobScheduler Scheduler(JobQueue queue, JobSchedulerOptions options, params JobSchedule[] declared)
    {
        foreach (var schedule in declared)
        {
            options.Schedules.Add(schedule);
        }

        var scheduler = new JobScheduler(queue, options);
        _owned.Add(scheduler);
        return scheduler;
    }

    /// <summary>Runs passes, moving the clock to each next tick, until the next tick is past <paramref name="until"/>.</summary>
    private static async Task<int> DriveAsync(FakeTimeProvider time, DateTimeOffset until, JobScheduler scheduler, CancellationToken ct)
    {
        var passes = 0;
        while (true)
        {
            var next = await scheduler.PassAsync(ct);
            passes++;
            if (next is not { } at || at > until)
            {
                return passes;
            }

            if (at > time.GetUtcNow())
            {
                time.SetUtcNow(at);
            }
        }
    }

    private static async Task<List<JobSummary>> JobsAsync(JobQueue queue, CancellationToken ct)
    {
        var jobs = new List<JobSummary>();
        long? after = null;
        do
        {
            var page = await queue.GetJobsAsync(new JobQuery(JobState.Ready, AfterId: after, PageSize: 500), ct);
            jobs.AddRange(page.Jobs);
            after = page.NextAfterId;
        }
        while (after is not null);
        return jobs;
    }

    private static DateTimeOffset TickOf(JobSummary job) =>
        DateTimeOffset.Parse(job.UniqueKey![(job.UniqueKey!.IndexOf('@') + 1)..], System.Globalization.CultureInfo.InvariantCulture);

    [Test]
    [CancelAfter(120_000)]
    public async Task AnInterval_OverTwoWeeks_EnqueuesOneJobPerTick_OnItsGrid(CancellationToken ct)
    {
        var (start, time, queue) = ClockedQueue();
        var scheduler = Scheduler(queue, JobSchedule.Every("hourly", TimeSpan.FromHours(1), Tick));
        await scheduler.StartAsync(ct);
        await scheduler.StopAsync(ct); // Stored; the test drives the passes itself.

        await DriveAsync(time, start.AddDays(14), scheduler, ct);

        var ticks = (await JobsAsync(queue, ct)).Select(TickOf).ToList();
        ticks.Should().Equal(Enumerable.Range(1, 14 * 24).Select(h => start.AddHours(h)));
        var info = (await queue.GetSchedulesAsync(ct)).Single();
        info.LastTick.Should().Be(start.AddDays(14));
        info.NextTick.Should().Be(start.AddDays(14).AddHours(1));
        info.DeclaredInCode.Should().BeTrue();
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task DailyAt0230InBerlin_ForSevenMonths_RunsOncePerDay_At0300OnTheSpringForwardDay_AndOnceOnTheFallBackDay(CancellationToken ct)
    {
        var start = new DateTimeOffset(2026, 3, 20, 12, 0, 0, TimeSpan.Zero);
        var time = new FakeTimeProvider(start);
        var queue = Queue(time);
        var scheduler = Scheduler(queue, JobSchedule.Cron("nightly", "30 2 * * *", Tick, Berlin));
        await scheduler.StartAsync(ct);
        await scheduler.StopAsync(ct);

        var end = new DateTimeOffset(2026, 11, 10, 0, 0, 0, TimeSpan.Zero);
        await DriveAsync(time, end, scheduler, ct);

        var local = (await JobsAsync(queue, ct)).Select(j => TimeZoneInfo.ConvertTime(TickOf(j), Berlin)).ToList();
        var days = (end.Date - start.Date).Days - 1; // 21 March to 9 November
        local.Should().HaveCount(days, "one tick per day, none lost or doubled");
        local.Select(t => t.Date).Should().OnlyHaveUniqueItems().And.Equal(Enumerable.Range(1, days).Select(d => start.Date.AddDays(d)));
        foreach (var t in local)
        {
            var expected = t.Date == new DateTime(2026, 3, 29) ? new TimeSpan(3, 0, 0) : new TimeSpan(2, 30, 0);
            t.TimeOfDay.Should().Be(expected, $"the tick of {t.Date:yyyy-MM-dd}");
        }

        // The fall-back day's 02:30 comes twice on the wall clock; it ran once, at the first (summer time, +02:00).
        local.Single(t => t.Date == new DateTime(2026, 10, 25)).Offset.Should().Be(TimeSpan.FromHours(2));
        local.Single(t => t.Date == new DateTime(2026, 3, 29)).Offset.Should().Be(TimeSpan.FromHours(2));
    }

    [TestCase(MissedTickPolicy.RunOnce, 1)]
    [TestCase(MissedTickPolicy.Skip, 0)]
    [CancelAfter(60_000)]
    public async Task TicksMissedWhileEveryHostWasDown_FollowThePolicy(MissedTickPolicy policy, int catchUpJobs, CancellationToken ct)
    {
        var (start, time, queue) = ClockedQueue();
        var scheduler = Scheduler(queue, JobSchedule.Every("hourly", TimeSpan.FromHours(1), Tick, policy));
        await scheduler.StartAsync(ct);
        await scheduler.StopAsync(ct);

        // A week down, back half-way between two ticks: 168 ticks missed, none on time.
        time.SetUtcNow(start.AddDays(7).AddMinutes(30));
        var next = await scheduler.PassAsync(ct);

        var jobs = await JobsAsync(queue, ct);
        jobs.Should().HaveCount(catchUpJobs);
        if (catchUpJobs == 1)
        {
            TickOf(jobs[0]).Should().Be(start.AddHours(1), "the catch-up job is labelled with the first missed tick");
        }

        next.Should().Be(start.AddDays(7).AddHours(1), "the schedule goes on from its next tick on its grid");
        time.SetUtcNow(next!.Value);
        await scheduler.PassAsync(ct);
        (await JobsAsync(queue, ct)).Should().HaveCount(catchUpJobs + 1);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ATickALittleLate_FiresAsItIs_AndOneWithinTheToleranceAfterAnOutage_FiresInsteadOfTheMissedOnes(CancellationToken ct)
    {
        var (start, time, queue) = ClockedQueue();
        var scheduler = Scheduler(queue, JobSchedule.Every("minutely", TimeSpan.FromMinutes(1), Tick, MissedTickPolicy.RunOnce));
        await scheduler.StartAsync(ct);
        await scheduler.StopAsync(ct);

        time.SetUtcNow(start.AddMinutes(1).AddSeconds(50)); // 50 s late: on time
        await scheduler.PassAsync(ct);
        time.SetUtcNow(start.AddHours(5).AddSeconds(10)); // down 5 h: the 5:00 tick is 10 s old
        await scheduler.PassAsync(ct);

        (await JobsAsync(queue, ct)).Select(TickOf).Should().Equal(start.AddMinutes(1), start.AddHours(5));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AfterAnOutage_AScheduleFasterThanTheTolerance_FiresOnlyItsLatestTick([Values] MissedTickPolicy policy, [Values] bool cron, CancellationToken ct)
    {
        // Before, the first tick within the tolerance fired in the stead of the missed ones, and then every later tick
        // within it, pass after pass: a 3 s schedule down 3.5 min enqueued 21 jobs as its scheduler started (Skip too).
        var (start, time, queue) = ClockedQueue();
        var schedule = cron
            ? JobSchedule.Cron("fast", "*/3 * * * * *", Tick, missedTicks: policy)
            : JobSchedule.Every("fast", TimeSpan.FromSeconds(3), Tick, policy);
        var scheduler = Scheduler(queue, schedule);
        await scheduler.StartAsync(ct);
        await scheduler.StopAsync(ct);

        var now = start.AddMinutes(3).AddSeconds(31.5);
        time.SetUtcNow(now);
        var passes = 0;
        DateTimeOffset? next;
        do
        {
            next = await scheduler.PassAsync(ct);
            passes++;
        }
        while (next <= now && passes < 100);

        (await JobsAsync(queue, ct)).Select(TickOf).Should().Equal([start.AddMinutes(3).AddSeconds(30)], "the latest tick due fires, once, in the stead of every earlier one");
        next.Should().Be(start.AddMinutes(3).AddSeconds(33));
        passes.Should().Be(1, "an outage costs one fire");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task PauseResumeAndRemove_AtRunTime_AreListedWithNextAndLastTick(CancellationToken ct)
    {
        var (start, time, queue) = ClockedQueue();
        var scheduler = Scheduler(queue);
        var set = await queue.SetScheduleAsync(JobSchedule.Every("report", TimeSpan.FromMinutes(10), new JobRequest("report", """{"full":true}""", new JobOptions { Queue = "reports", Priority = 3 })), ct);
        set.Should().Be(new ScheduleInfo("report", null, TimeSpan.FromMinutes(10), "UTC", "report", "reports", MissedTickPolicy.RunOnce, start.AddMinutes(10), null, null, false, false, false, null));

        (await queue.PauseScheduleAsync("report", ct)).Should().BeTrue();
        time.SetUtcNow(start.AddMinutes(10));
        await scheduler.PassAsync(ct);
        (await JobsAsync(queue, ct)).Should().BeEmpty("a paused schedule fires nothing");

        (await queue.ResumeScheduleAsync("report", ct)).Should().BeTrue();
        await scheduler.PassAsync(ct);
        var job = (await JobsAsync(queue, ct)).Single();
        job.Queue.Should().Be("reports");
        job.Priority.Should().Be(3);
        (await queue.GetJobAsync(job.Id, ct))!.PayloadJson.Should().Be("""{"full":true}""");
        var listed = (await queue.GetSchedulesAsync(ct)).Single();
        (listed.NextTick, listed.LastTick, listed.LastJobId, listed.Paused).Should().Be((start.AddMinutes(20), start.AddMinutes(10), job.Id, false));

        (await queue.RemoveScheduleAsync("report", ct)).Should().BeTrue();
        (await queue.RemoveScheduleAsync("report", ct)).Should().BeFalse();
        (await queue.PauseScheduleAsync("report", ct)).Should().BeFalse();
        time.SetUtcNow(start.AddHours(1));
        (await scheduler.PassAsync(ct)).Should().BeNull("no schedule is left");
        (await JobsAsync(queue, ct)).Should().ContainSingle("the job of a removed schedule stays");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AResume_TreatsTheTicksPassedWhilePausedAsMissed_WhateverTheTolerance([Values] MissedTickPolicy policy, CancellationToken ct)
    {
        // Before, the row kept its old next tick and every tick within the tolerance fired after the resume, pass by
        // pass: a 10 s schedule paused for 35 s (tolerance 1 min) enqueued 3 jobs, with Skip too.
        var (start, time, queue) = ClockedQueue();
        var scheduler = Scheduler(queue);
        await queue.SetScheduleAsync(JobSchedule.Every("fast", TimeSpan.FromSeconds(10), Tick, policy), ct);
        (await queue.PauseScheduleAsync("fast", ct)).Should().BeTrue();
        time.Advance(TimeSpan.FromSeconds(35));

        (await queue.ResumeScheduleAsync("fast", ct)).Should().BeTrue();
        var next = await scheduler.PassAsync(ct);

        var ticks = (await JobsAsync(queue, ct)).Select(TickOf).ToList();
        if (policy == MissedTickPolicy.RunOnce)
        {
            ticks.Should().Equal([start.AddSeconds(10)], "one job catches up, labelled with the first missed tick");
        }
        else
        {
            ticks.Should().BeEmpty("skipped");
        }

        next.Should().Be(start.AddSeconds(40), "the next tick is the first after now, on the grid");
        (await queue.GetSchedulesAsync(ct)).Single().NextTick.Should().Be(start.AddSeconds(40));
        time.SetUtcNow(start.AddSeconds(40));
        await scheduler.PassAsync(ct);
        (await JobsAsync(queue, ct)).Select(TickOf).Should().EndWith(start.AddSeconds(40)).And.HaveCount(policy == MissedTickPolicy.RunOnce ? 2 : 1);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AResumeOfAScheduleThatWasNotPaused_LeavesItsLateTickToFire(CancellationToken ct)
    {
        // A tick late within the tolerance (a busy scheduler) is on time, not a tick of a pause: an "ensure resumed" call
        // must not skip it.
        var (start, time, queue) = ClockedQueue();
        var scheduler = Scheduler(queue);
        await queue.SetScheduleAsync(JobSchedule.Every("daily", TimeSpan.FromDays(1), Tick, MissedTickPolicy.Skip), ct);
        time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromSeconds(5));

        (await queue.ResumeScheduleAsync("daily", ct)).Should().BeTrue();
        await scheduler.PassAsync(ct);

        (await JobsAsync(queue, ct)).Select(TickOf).Should().Equal(start.AddDays(1));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AChangedDefinition_TicksAfresh_AndAnUnchangedOneKeepsItsNextTick(CancellationToken ct)
    {
        var (start, time, queue) = ClockedQueue();
        await queue.SetScheduleAsync(JobSchedule.Every("s", TimeSpan.FromHours(1), Tick), ct);
        time.Advance(TimeSpan.FromMinutes(20));
        (await queue.SetScheduleAsync(JobSchedule.Every("s", TimeSpan.FromHours(1), Tick), ct)).NextTick.Should().Be(start.AddHours(1));
        (await queue.SetScheduleAsync(JobSchedule.Cron("s", "0 12 * * *", Tick), ct)).NextTick.Should().Be(new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.Zero));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AScheduleNoLongerDeclaredInCode_IsListedOrphaned_AndWarned_AndNoLongerFires_UntilDeclaredAgain(CancellationToken ct)
    {
        var start = new DateTimeOffset(2026, 6, 1, 8, 0, 0, TimeSpan.Zero);
        var time = new FakeTimeProvider(start);
        var logs = new RecordingLogs();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        var queue = Queue(time, logs: factory);
        var a = JobSchedule.Every("a", TimeSpan.FromMinutes(5), Tick);
        var b = JobSchedule.Every("b", TimeSpan.FromMinutes(5), Tick);
        await queue.SetScheduleAsync(JobSchedule.Every("runtime", TimeSpan.FromMinutes(5), Tick), ct);
        var old = Scheduler(queue, a, b);
        await old.StartAsync(ct);
        await old.StopAsync(ct);

        var next = Scheduler(queue, a); // the new code: b was deleted from it
        await next.StartAsync(ct);
        await next.StopAsync(ct);

        var listed = await queue.GetSchedulesAsync(ct);
        listed.Select(s => (s.Name, s.Orphaned, s.DeclaredInCode)).Should().Equal(("a", false, true), ("b", true, true), ("runtime", false, false));
        logs.Entries.Where(e => e.Level == LogLevel.Warning && e.Id == 3061).Select(e => e.Message).Should().ContainSingle().Which.Should().Contain("Schedule b");

        time.SetUtcNow(start.AddMinutes(5));
        await next.PassAsync(ct);
        (await JobsAsync(queue, ct)).Select(j => j.UniqueKey![..j.UniqueKey!.IndexOf('@')]).Should().BeEquivalentTo(["ladder-schedule:a", "ladder-schedule:runtime"]);

        var restored = Scheduler(queue, a, b);
        await restored.StartAsync(ct);
        await restored.StopAsync(ct);
        (await queue.GetSchedulesAsync(ct)).Should().OnlyContain(s => !s.Orphaned);
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task ThreeHostsOnOneFile_StartingAtOnce_EnqueueExactlyOneJobPerTick(CancellationToken ct)
    {
        const int Ticks = 40;
        var start = new DateTimeOffset(2026, 6, 1, 8, 0, 0, TimeSpan.Zero);
        var time = new FakeTimeProvider(start);
        var schedule = JobSchedule.Every("every-30s", TimeSpan.FromSeconds(30), Tick);
        // Three queues, each with its own writer connection to the same file, each with its own scheduler running its loop.
        var schedulers = Enumerable.Range(0, 3).Select(_ => Scheduler(Queue(time), schedule)).ToArray();
        using (var gate = new ManualResetEventSlim())
        {
            var starts = schedulers.Select(s => Task.Run(async () =>
            {
                gate.Wait(ct);
                await s.StartAsync(ct);
            }, ct)).ToArray();
            gate.Set();
            await Task.WhenAll(starts);
        }

        var waits = new long[3];
        for (var i = 0; i < Ticks; i++)
        {
            // Each loop is asleep on its one timer before the clock moves.
            for (var h = 0; h < 3; h++)
            {
                await schedulers[h].WaitForWaitsAsync(waits[h] + 1, ct);
                waits[h] = schedulers[h].Waits;
            }

            time.Advance(TimeSpan.FromSeconds(30));
        }

        for (var h = 0; h < 3; h++)
        {
            await schedulers[h].WaitForWaitsAsync(waits[h] + 1, ct);
        }

        var queue = Queue(time);
        var ticks = (await JobsAsync(queue, ct)).Select(TickOf).ToList();
        ticks.Should().Equal(Enumerable.Range(1, Ticks).Select(n => start.AddSeconds(30 * n)), "one job per tick, whichever host fired it");
        (await queue.GetSchedulesAsync(ct)).Single().Should().Match<ScheduleInfo>(s => s.NextTick == start.AddSeconds(30 * (Ticks + 1)) && s.LastTick == start.AddSeconds(30 * Ticks));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task AThousandIdleSchedules_CostOneTimerAndOneIndexedReadPerRefresh_LikeOne(CancellationToken ct)
    {
        var start = new DateTimeOffset(2026, 6, 1, 8, 0, 0, TimeSpan.Zero);
        var fake = new FakeTimeProvider(start);
        var results = new List<(int Schedules, int Timers, int AllTimers, int MaxAlive, long Reads)>();
        foreach (var count in new[] { 1, 1000 })
        {
            var time = new CountingTimeProvider(fake);
            var queue = Queue(time, $"idle-{count}.db");
            fake.SetUtcNow(start.AddDays(results.Count).AddMinutes(25));
            for (var i = 0; i < count; i++)
            {
                // Daily, between 00:00 and 05:59: none ticks in the ten minutes after 08:25.
                await queue.SetScheduleAsync(JobSchedule.Cron($"daily-{i:D4}", $"{i % 60} {i % 6} * * *", Tick), ct);
            }

            var scheduler = Scheduler(queue, new JobSchedulerOptions { RefreshInterval = TimeSpan.FromMinutes(1) });
            await scheduler.StartAsync(ct);
            await scheduler.WaitForWaitsAsync(1, ct);
            var (timers, reads) = (time.Created, scheduler.StoreReads);
            var busy = 0;
            for (var minute = 0; minute < 10; minute++)
            {
                var before = scheduler.Waits;
                fake.Advance(TimeSpan.FromMinutes(1));
                await scheduler.WaitForWaitsAsync(before + 1, ct);
                busy += (await JobsAsync(queue, ct)).Count;
            }

            await scheduler.StopAsync(ct);
            busy.Should().Be(0, "no tick came in those ten minutes");
            results.Add((count, time.Created - timers, time.Created, time.MaxAlive, scheduler.StoreReads - reads));
        }

        TestContext.Progress.WriteLine(string.Join("; ", results.Select(r => $"{r.Schedules} schedules, 10 idle minutes: {r.Timers} timers created ({r.AllTimers} in all), at most {r.MaxAlive} alive, {r.Reads} store reads")));
        results.Should().AllSatisfy(r =>
        {
            r.Timers.Should().Be(0, "the scheduler's one timer is re-armed, never created per wait or per schedule");
            r.AllTimers.Should().Be(1, "one timer, created at start");
            r.MaxAlive.Should().Be(1);
            r.Reads.Should().Be(10, "one read per refresh");
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ASchedule_SetAtRunTime_WakesTheSleepingLoop_WhichFiresItOnTime(CancellationToken ct)
    {
        var (start, time, queue) = ClockedQueue();
        var scheduler = Scheduler(queue, new JobSchedulerOptions { RefreshInterval = TimeSpan.FromDays(1) });
        await scheduler.StartAsync(ct);
        await scheduler.WaitForWaitsAsync(1, ct);

        await queue.SetScheduleAsync(JobSchedule.Every("soon", TimeSpan.FromSeconds(5), Tick), ct);
        await scheduler.WaitForWaitsAsync(2, ct); // woken without the clock moving: it now sleeps until the tick
        var waits = scheduler.Waits;
        time.Advance(TimeSpan.FromSeconds(5));
        await scheduler.WaitForWaitsAsync(waits + 1, ct);

        (await JobsAsync(queue, ct)).Select(TickOf).Should().Equal(start.AddSeconds(5));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AStoredDefinitionThatCannotBeRead_IsListedWithItsError_AndNeverFires(CancellationToken ct)
    {
        var (start, time, queue) = ClockedQueue();
        await queue.Store.UpsertScheduleAsync(new ScheduleUpsert("future", """{"v":99}""", false, start), ct);
        await queue.Store.UpsertScheduleAsync(new ScheduleUpsert("garbage", "not json", false, start), ct);
        // A well-formed row whose cron has Cronos's hashed fields: its parser throws MissingSeedException for them.
        await queue.SetScheduleAsync(JobSchedule.Cron("hourly", "0 * * * *", Tick), ct);
        var hourly = (await queue.Store.GetSchedulesAsync(ct)).Single(r => r.Name == "hourly");
        await queue.Store.UpsertScheduleAsync(new ScheduleUpsert("hashed", hourly.Spec.Replace("0 * * * *", "H * * * *", StringComparison.Ordinal), false, start), ct);
        await queue.RemoveScheduleAsync("hourly", ct);
        var scheduler = Scheduler(queue);

        (await scheduler.PassAsync(ct)).Should().BeNull();
        (await JobsAsync(queue, ct)).Should().BeEmpty();
        var listed = await queue.GetSchedulesAsync(ct);
        listed.Should().HaveCount(3).And.OnlyContain(s => s.Error != null && s.NextTick == start);
        listed.Single(s => s.Name == "hashed").Error.Should().Contain("'H' (hashed) fields are not supported");
    }

    [Test]
    public void InvalidDefinitions_AreRefused_WithEveryProblemNamed()
    {
        FluentActions.Invoking(() => JobSchedule.Cron("x", "* * * *", Tick)).Should().Throw<JobScheduleException>().WithMessage("*5 fields*");
        FluentActions.Invoking(() => JobSchedule.Cron("x", "61 * * * *", Tick)).Should().Throw<JobScheduleException>()
            .Which.Failures.Should().Equal("The cron expression '61 * * * *' is not valid: Minutes: Value must be a number between 0 and 59 (all inclusive).");
        FluentActions.Invoking(() => JobSchedule.Cron("x", "@bogus", Tick)).Should().Throw<JobScheduleException>().WithMessage("*'@bogus' is not valid: Macro:*");
        FluentActions.Invoking(() => JobSchedule.Cron("x", "H * * * *", Tick)).Should().Throw<JobScheduleException>().WithMessage("*'H' (hashed) fields are not supported*");
        // Accepted before: listed as active with no next tick, never firing.
        FluentActions.Invoking(() => JobSchedule.Cron("x", "0 0 30 2 *", Tick)).Should().Throw<JobScheduleException>().WithMessage("*matches no date*never fire*");
        JobSchedule.Cron("leap", "0 0 29 2 *", Tick).CronExpression.Should().Be("0 0 29 2 *");
        FluentActions.Invoking(() => JobSchedule.Every(" x", TimeSpan.FromMilliseconds(500), new JobRequest("k", "{}", new JobOptions { UniqueKey = "u", Delay = TimeSpan.FromSeconds(1) })))
            .Should().Throw<JobScheduleException>().Which.Failures.Should().HaveCount(4);
        JobSchedule.Cron("six", "*/10 * * * * *", Tick).CronExpression.Should().Be("*/10 * * * * *");
        JobSchedule.Cron("macro", "@daily", Tick).TimeZone.Should().Be(TimeZoneInfo.Utc);

        var options = new JobSchedulerOptions { RefreshInterval = TimeSpan.Zero, BatchSize = 0, MissedTickTolerance = TimeSpan.FromSeconds(-1) };
        options.Schedules.Add(JobSchedule.Every("a", TimeSpan.FromMinutes(1), Tick));
        options.Schedules.Add(JobSchedule.Every("a", TimeSpan.FromMinutes(2), Tick));
        options.Validate().Should().HaveCount(4);
    }

    [Test]
    public void ACronInAZoneThisHostCannotFindById_IsRefused_AndASystemZoneByAnyOfItsIds_IsKept()
    {
        // Stored by id and read back by id on every host: a custom zone was accepted, then never fired (its scheduler
        // logged that the zone is not known on this host).
        var custom = TimeZoneInfo.CreateCustomTimeZone("My/Custom+5", TimeSpan.FromHours(5), "custom", "custom");
        FluentActions.Invoking(() => JobSchedule.Cron("custom", "*/5 * * * * *", Tick, custom)).Should().Throw<JobScheduleException>()
            .Which.Failures.Should().ContainSingle().Which.Should().Contain("'My/Custom+5' is not a system time zone");

        // A custom zone that borrows a system zone's id but not its rules would fire by the system zone's.
        var impostor = TimeZoneInfo.CreateCustomTimeZone("Europe/Berlin", TimeSpan.FromHours(5), "fake", "fake");
        FluentActions.Invoking(() => JobSchedule.Cron("impostor", "30 2 * * *", Tick, impostor)).Should().Throw<JobScheduleException>();

        JobSchedule.Cron("berlin", "30 2 * * *", Tick, Berlin).TimeZone.Should().Be(Berlin);
        JobSchedule.Cron("windows-id", "30 2 * * *", Tick, TimeZoneInfo.FindSystemTimeZoneById("W. Europe Standard Time")).TimeZone.HasSameRules(Berlin).Should().BeTrue();
        JobSchedule.Cron("utc", "30 2 * * *", Tick, TimeZoneInfo.Utc).TimeZone.Should().Be(TimeZoneInfo.Utc);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AStartThatWasCancelled_CanBeTriedAgain_AndThenFires(CancellationToken ct)
    {
        var (start, time, queue) = ClockedQueue();
        var scheduler = Scheduler(queue, JobSchedule.Every("hourly", TimeSpan.FromHours(1), Tick));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        // Before the fix, the scheduler stayed marked started with no loop: the second start threw "already started".
        await FluentActions.Awaiting(() => scheduler.StartAsync(cancelled.Token)).Should().ThrowAsync<OperationCanceledException>();
        await scheduler.StartAsync(ct);
        await FluentActions.Awaiting(() => scheduler.StartAsync(ct)).Should().ThrowAsync<InvalidOperationException>().WithMessage("*already started*");
        await scheduler.StopAsync(ct);

        time.SetUtcNow(start.AddHours(1));
        await scheduler.PassAsync(ct);
        (await JobsAsync(queue, ct)).Select(TickOf).Should().Equal(start.AddHours(1));
        (await queue.GetSchedulesAsync(ct)).Single().DeclaredInCode.Should().BeTrue();
    }
}
