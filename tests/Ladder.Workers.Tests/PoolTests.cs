using System.Diagnostics.Metrics;
using Microsoft.Extensions.Time.Testing;

namespace Ladder.Workers.Tests;

public sealed class PoolTests
{
    [Test, CancelAfter(60_000)]
    public async Task Invoke_TypedAndBytes_RoundTripPayloads(CancellationToken ct)
    {
        await using var pool = await Support.StartAsync(Support.Options(), ct);
        var bytes = Enumerable.Range(0, 1 << 20).Select(i => (byte)i).ToArray();

        var echo = await pool.InvokeAsync<EchoRequest, EchoResponse>("echo", new EchoRequest("héllo"), Support.Generous, ct);
        var raw = await pool.InvokeBytesAsync("bytes", bytes, Support.Generous, ct);

        echo.Value.Should().Be(new EchoResponse("héllo", echo.WorkerProcessId));
        raw.Value.Should().Equal(bytes);
        raw.QueueWait.Should().BeGreaterThanOrEqualTo(TimeSpan.Zero);
        raw.TotalDuration.Should().BeGreaterThanOrEqualTo(raw.RunDuration);
    }

    [Test, CancelAfter(60_000)]
    public async Task Invoke_WhenQueueIsFullAndFailFast_ThrowsPoolFull(CancellationToken ct)
    {
        var options = Support.Options();
        options.QueueCapacity = 1;
        options.QueueFullMode = WorkerQueueFullMode.FailFast;
        await using var pool = await Support.StartAsync(options, ct);
        using var hold = CancellationTokenSource.CreateLinkedTokenSource(ct);

        // Admission is synchronous: one call takes the worker's slot, one the queue's.
        var running = pool.SleepAsync("sleep", 60_000, Support.Generous, hold.Token);
        var queued = pool.SleepAsync("sleep", 60_000, Support.Generous, hold.Token);

        var error = (await FluentActions.Awaiting(() => pool.SleepAsync("sleep", 1, Support.Generous, ct)).Should().ThrowAsync<WorkerPoolFullException>()).Which;
        (error.QueueCapacity, error.Operation).Should().Be((1, "sleep"), "every WorkerException names its operation (it was null)");
        await hold.CancelAsync();
        await FluentActions.Awaiting(() => running).Should().ThrowAsync<OperationCanceledException>();
        await FluentActions.Awaiting(() => queued).Should().ThrowAsync<OperationCanceledException>();
        (await pool.SleepAsync("sleep", 1, Support.Generous, ct)).HasValue.Should().BeTrue("the slots are free again");
    }

    [Test, CancelAfter(60_000)]
    public async Task Invoke_WhenQueueIsFullAndWait_WaitsForRoom(CancellationToken ct)
    {
        var options = Support.Options();
        options.QueueCapacity = 1;
        await using var pool = await Support.StartAsync(options, ct);

        var calls = Enumerable.Range(0, 5).Select(_ => pool.SleepAsync("sleep", 50, Support.Generous, ct)).ToArray();
        var results = await Task.WhenAll(calls);

        results.Should().OnlyContain(r => r.HasValue && !r.WasTimeout);
        pool.GetStats().Succeeded.Should().Be(5);
    }

    [Test, CancelAfter(60_000)]
    public async Task Invoke_WhenCallerCancels_ThrowsOperationCanceledWithCallersToken(CancellationToken ct)
    {
        await using var pool = await Support.StartAsync(Support.Options(), ct);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(TimeSpan.FromMilliseconds(300));

        var error = (await FluentActions.Awaiting(() => pool.SleepAsync("hang", 60_000, Support.Generous, cts.Token))
            .Should().ThrowAsync<OperationCanceledException>()).Which;

        error.CancellationToken.Should().Be(cts.Token);
        await pool.WhenReadyAsync(ct);
        var stats = pool.GetStats();
        stats.Cancelled.Should().Be(1);
        stats.Timeouts.Should().Be(0, "a cancel is not a deadline");
        stats.Kills.Should().Be(1, "the handler ignored the cancel frame, so its worker was killed after the grace");
        (await pool.PidAsync()).Should().BePositive();
    }

    [Test, CancelAfter(90_000)]
    public async Task Recycle_AfterNCalls_ReplacesTheWorkerWithoutCountingACrash(CancellationToken ct)
    {
        var options = Support.Options(spare: false);
        options.RecycleAfterCalls = 3;
        await using var pool = await Support.StartAsync(options, ct);

        var first = new[] { await pool.PidAsync(), await pool.PidAsync(), await pool.PidAsync() };
        await pool.WhenReadyAsync(ct);
        var fourth = await pool.PidAsync();

        first.Distinct().Should().ContainSingle();
        fourth.Should().NotBe(first[0]);
        Support.AssertNothingLeftOf(first[0]);
        var stats = pool.GetStats();
        stats.Recycles.Should().Be(1);
        stats.Crashes.Should().Be(0);
        stats.Kills.Should().Be(0);
    }

    [Test, CancelAfter(90_000)]
    public async Task Recycle_AboveMemoryThreshold_ReplacesTheWorker(CancellationToken ct)
    {
        var options = Support.Options(spare: false);
        options.RecycleAboveWorkingSetBytes = 300L * 1024 * 1024;
        await using var pool = await Support.StartAsync(options, ct);

        var small = await pool.CallAsync("retain", 1);
        var samePid = await pool.PidAsync();
        var big = await pool.CallAsync("retain", 400);
        await pool.WhenReadyAsync(ct);
        var after = await pool.PidAsync();

        samePid.Should().Be(small.WorkerProcessId, "a small working set does not recycle");
        big.WorkerProcessId.Should().Be(small.WorkerProcessId);
        after.Should().NotBe(big.WorkerProcessId);
        pool.GetStats().Recycles.Should().Be(1);
        pool.GetStats().Crashes.Should().Be(0);
    }

    [Test, CancelAfter(60_000)]
    public async Task Breaker_WhenWorkersDieOnStart_StopsSpawningAndProbesOncePerBackoff(CancellationToken ct)
    {
        var time = new FakeTimeProvider();
        var options = Support.Options(workers: 2);
        options.Environment["TESTWORKER_EXIT_AT_START"] = "3";
        options.BreakerThreshold = 3;
        options.BreakerInitialBackoff = TimeSpan.FromMinutes(1);
        options.BreakerMaxBackoff = TimeSpan.FromMinutes(10);
        options.KillWait = TimeSpan.FromSeconds(30);
        var pool = new WorkerPool(options, null, time);
        await using var disposal = pool.DisposingOn(time);

        await pool.WhenBreakerOpenedAsync(1).WaitAsync(ct);

        var error = (await FluentActions.Awaiting(() => pool.WhenReadyAsync(ct)).Should().ThrowAsync<WorkerPoolUnavailableException>()).Which;
        error.InnerException.Should().BeOfType<WorkerStartException>().Which.Message.Should().Contain("exited with code 3");
        error.RetryAfter.Should().Be(TimeSpan.FromMinutes(1));
        var refused = (await FluentActions.Awaiting(() => pool.CallAsync("noop", 1)).Should().ThrowAsync<WorkerPoolUnavailableException>()).Which;
        (refused.Operation, refused.RetryAfter).Should().Be(("noop", TimeSpan.FromMinutes(1)), "a call's error names its operation (it was null)");
        error.Operation.Should().BeNull("WhenReadyAsync is no call");
        var stats = pool.GetStats();
        stats.BreakerOpen.Should().BeTrue();
        stats.SpawnFailures.Should().Be(3, "three workers were started (two plus the spare), and no more");

        // After the backoff: exactly one probe, which fails and reopens the breaker for twice as long.
        time.Advance(TimeSpan.FromMinutes(1));
        await pool.WhenBreakerOpenedAsync(2).WaitAsync(ct);
        pool.GetStats().SpawnFailures.Should().Be(stats.SpawnFailures + 1);
        (await FluentActions.Awaiting(() => pool.WhenReadyAsync(ct)).Should().ThrowAsync<WorkerPoolUnavailableException>())
            .Which.RetryAfter.Should().Be(TimeSpan.FromMinutes(2));
    }

    [Test, CancelAfter(60_000)]
    public async Task Start_WhenWorkerIsTooSlow_FailsTheStartAndKillsIt(CancellationToken ct)
    {
        var options = Support.Options(spare: false);
        options.Environment["TESTWORKER_START_DELAY_MS"] = "30000";
        options.StartupTimeout = TimeSpan.FromMilliseconds(500);
        options.BreakerThreshold = 1;
        options.BreakerInitialBackoff = TimeSpan.FromMinutes(10);
        options.BreakerMaxBackoff = TimeSpan.FromMinutes(10);
        await using var pool = new WorkerPool(options);

        var error = (await FluentActions.Awaiting(() => pool.WhenReadyAsync(ct)).Should().ThrowAsync<WorkerPoolUnavailableException>()).Which;

        error.InnerException!.Message.Should().Contain("did not send its handshake");
        Support.LiveChildren().Should().BeEmpty("the slow worker was killed");
    }

    [Test, CancelAfter(60_000)]
    public async Task Dispose_WithCallsInFlight_FailsThemAndLeavesNoProcess(CancellationToken ct)
    {
        var options = Support.Options(workers: 2);
        options.ShutdownGrace = TimeSpan.FromMilliseconds(300);
        var pool = await Support.StartAsync(options, ct);
        var pids = pool.GetStats().ProcessIds.ToArray();
        var calls = new[] { pool.SleepAsync("hang", 60_000, Support.Generous, ct), pool.SleepAsync("hang", 60_000, Support.Generous, ct) };

        await pool.DisposeAsync();

        foreach (var call in calls)
        {
            var error = await FluentActions.Awaiting(() => call).Should().ThrowAsync<Exception>();
            error.Which.Should().Match(e => e is WorkerPoolUnavailableException || e is ObjectDisposedException);
        }

        Support.AssertNothingLeft(pids);
        await FluentActions.Awaiting(() => pool.PidAsync()).Should().ThrowAsync<ObjectDisposedException>();
        await pool.DisposeAsync();
    }

    [Test, CancelAfter(60_000)]
    public async Task Dispose_WhileWorkersAreStarting_LeavesNoProcess(CancellationToken ct)
    {
        var options = Support.Options(workers: 2);
        options.Environment["TESTWORKER_START_DELAY_MS"] = "2000";
        var pool = new WorkerPool(options);

        await pool.DisposeAsync();

        Support.LiveChildren().Should().BeEmpty();
    }

    [Test]
    public void Create_WithBadOptions_ListsEveryFailure()
    {
        var options = new WorkerPoolOptions
        {
            WorkerPath = "/no/such/worker",
            WorkerCount = 0,
            CancelGrace = TimeSpan.FromSeconds(-1),
            MaxFrameBytes = 10,
            RecycleAfterCalls = 0,
            HeapHardLimitBytes = 1,
            BreakerInitialBackoff = TimeSpan.FromMinutes(5),
            BreakerMaxBackoff = TimeSpan.FromMinutes(1),
        };

        var error = FluentActions.Invoking(() => new WorkerPool(options)).Should().Throw<Microsoft.Extensions.Options.OptionsValidationException>().Which;

        error.Failures.Should().HaveCount(7);
        error.Message.Should().Contain("WorkerPath").And.Contain("WorkerCount").And.Contain("CancelGrace").And.Contain("MaxFrameBytes")
            .And.Contain("RecycleAfterCalls").And.Contain("HeapHardLimitBytes").And.Contain("BreakerMaxBackoff");
        new WorkerPoolOptions().Invoking(o => new WorkerPool(o)).Should().Throw<Microsoft.Extensions.Options.OptionsValidationException>()
            .Which.Message.Should().Contain("WorkerPath is required");
    }

    [Test, CancelAfter(60_000)]
    public async Task Metrics_RecordCallsByOutcome(CancellationToken ct)
    {
        long ok = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Ladder.Workers" && instrument.Name == "ladder.workers.calls")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag is { Key: "outcome", Value: "ok" })
                {
                    Interlocked.Add(ref ok, value);
                }
            }
        });
        listener.Start();
        await using var pool = await Support.StartAsync(Support.Options(), ct);

        await pool.PidAsync();
        await pool.PidAsync();

        Interlocked.Read(ref ok).Should().BeGreaterThanOrEqualTo(2);
    }

    [Test, CancelAfter(60_000)]
    public async Task Recycle_AfterCallsNearIntMaxValue_DoesNotRecycleAfterEveryCall(CancellationToken ct)
    {
        var options = Support.Options(spare: false);
        options.RecycleAfterCalls = int.MaxValue;
        await using var pool = await Support.StartAsync(options, ct);

        var pids = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            pids.Add(await pool.PidAsync());
        }

        pids.Distinct().Should().ContainSingle("the limit is far away: the worker is not recycled");
        pool.GetStats().Recycles.Should().Be(0);
    }

    [Test, CancelAfter(60_000)]
    public async Task Dispose_WithACallStillRunningAfterTheGrace_SaysThePoolWasDisposed_NotThatTheWorkerCrashed(CancellationToken ct)
    {
        var options = Support.Options(spare: false);
        options.ShutdownGrace = TimeSpan.FromMilliseconds(300);
        var pool = await Support.StartAsync(options, ct);
        var pid = await pool.PidAsync();
        var call = pool.SleepAsync("hang", 60_000, Support.Generous, ct);
        await pool.WaitUntilAsync(s => s.BusyWorkers == 1, ct);

        await pool.DisposeAsync();

        var error = (await FluentActions.Awaiting(() => call).Should().ThrowExactlyAsync<WorkerPoolUnavailableException>()).Which;
        error.Message.Should().Contain("disposed").And.Contain("ShutdownGrace");
        error.InnerException.Should().BeNull("the pool stopped the worker; nothing crashed");
        error.Operation.Should().Be("hang");
        error.ProcessId.Should().Be(pid);
        pool.GetStats().Crashes.Should().Be(0);
    }

    [Test, CancelAfter(60_000)]
    public async Task Stats_SpawnsAgreeWithTheSpawnsMeter_AndNameTheSpare(CancellationToken ct)
    {
        long ok = 0, failed = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Ladder.Workers" && instrument.Name == "ladder.workers.spawns")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag is { Key: "outcome", Value: "ok" })
                {
                    Interlocked.Add(ref ok, value);
                }
                else if (tag is { Key: "outcome", Value: "failed" })
                {
                    Interlocked.Add(ref failed, value);
                }
            }
        });
        listener.Start();

        await using (var pool = await Support.StartAsync(Support.Options(workers: 1), ct))
        {
            var stats = pool.GetStats();
            stats.Spawns.Should().Be(2);
            Interlocked.Read(ref ok).Should().Be(stats.Spawns, "the meter and the stats count the same starts");
            stats.SpareProcessId.Should().NotBeNull();
            stats.ProcessIds.Should().Contain(stats.SpareProcessId!.Value);
            (await pool.PidAsync()).Should().NotBe(stats.SpareProcessId!.Value, "calls go to the serving worker, not the spare");
        }

        var failing = Support.Options(workers: 1, spare: false);
        failing.Environment["TESTWORKER_EXIT_AT_START"] = "3";
        failing.BreakerThreshold = 2;
        failing.BreakerInitialBackoff = TimeSpan.FromHours(1);
        failing.BreakerMaxBackoff = TimeSpan.FromHours(1);
        await using (var pool = new WorkerPool(failing))
        {
            await pool.WhenBreakerOpenedAsync(1).WaitAsync(TimeSpan.FromSeconds(30), ct);
            var stats = pool.GetStats();
            stats.SpawnFailures.Should().Be(2);
            Interlocked.Read(ref failed).Should().Be(stats.SpawnFailures);
            stats.SpareProcessId.Should().BeNull();
        }
    }

    [Test]
    public void Create_WithAMaxQueueWaitPastTheTimerLimit_FailsValidation()
    {
        var options = Support.Options();
        options.MaxQueueWait = TimeSpan.MaxValue;

        FluentActions.Invoking(() => new WorkerPool(options)).Should().Throw<Microsoft.Extensions.Options.OptionsValidationException>()
            .Which.Message.Should().Contain("MaxQueueWait");
        options.MaxQueueWait = Timeout.InfiniteTimeSpan;
        WorkerPoolOptionsValidator.Collect(options).Should().BeEmpty("Timeout.InfiniteTimeSpan means no bound");
    }
}
