using System.Diagnostics;

namespace Ladder.Workers.Tests;

public sealed class DeadlineTests
{
    [Test, CancelAfter(120_000)]
    public async Task Invoke_WhenJobOutlivesDeadline_ReturnsTimedOutResultWithinDeadlinePlusGraceAndKill(CancellationToken ct)
    {
        // The old system's scenario: a 2.5 s parse under a 1 s deadline.
        await using var pool = await Support.StartAsync(Support.Options(), ct);
        var oldPid = await pool.PidAsync();
        var watch = Stopwatch.StartNew();

        var result = await pool.SleepAsync("hang", 2500, new WorkerCallOptions { Deadline = TimeSpan.FromSeconds(1) }, ct);

        watch.Stop();
        result.WasTimeout.Should().BeTrue();
        result.HasValue.Should().BeFalse();
        result.WorkerProcessId.Should().Be(oldPid);
        result.Attempts.Should().Be(1);
        result.Deadline.Should().Be(TimeSpan.FromSeconds(1));
        result.RunDuration.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(990));
        watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(1) + TimeSpan.FromMilliseconds(300) + TimeSpan.FromSeconds(5), "the result comes at the deadline, not after the job");
        FluentActions.Invoking(() => result.Value).Should().Throw<WorkerTimeoutException>().Which.Deadline.Should().Be(TimeSpan.FromSeconds(1));

        // The stuck worker is killed and replaced; the next call runs on a healthy pool.
        await pool.WhenReadyAsync(ct);
        Support.AssertNothingLeftOf(oldPid);
        var next = await pool.InvokeAsync<EchoRequest, EchoResponse>("echo", new EchoRequest("after"), Support.Generous, ct);
        next.WasTimeout.Should().BeFalse();
        next.Value.Text.Should().Be("after");
        next.Value.Pid.Should().NotBe(oldPid);
        var stats = pool.GetStats();
        stats.Timeouts.Should().Be(1);
        stats.Kills.Should().Be(1);
        stats.Crashes.Should().Be(0);
        stats.Workers.Should().Be(1);
        stats.SpareReady.Should().BeTrue();
    }

    [Test, CancelAfter(60_000)]
    public async Task Invoke_WhenJobIsFast_CompletesWithoutTimeout(CancellationToken ct)
    {
        await using var pool = await Support.StartAsync(Support.Options(), ct);

        var result = await pool.SleepAsync("sleep", 10, new WorkerCallOptions { Deadline = TimeSpan.FromSeconds(30) }, ct);

        result.WasTimeout.Should().BeFalse();
        result.UsedFallback.Should().BeFalse();
        result.HasValue.Should().BeTrue();
        result.Value.Should().Be(result.WorkerProcessId);
        result.Attempts.Should().Be(1);
        pool.GetStats().Timeouts.Should().Be(0);
    }

    [Test, CancelAfter(60_000)]
    public async Task Invoke_WhenHandlerHonoursCancel_KeepsTheWorkerAlive(CancellationToken ct)
    {
        using var gate = new StartGate();
        await using var pool = await Support.StartPatientAsync(gate, ct);

        var result = await pool.SleepAsync("sleep", 30_000, new WorkerCallOptions { Deadline = TimeSpan.FromMilliseconds(500) }, ct);

        result.WasTimeout.Should().BeTrue();
        await pool.WaitUntilAsync(s => s.Quarantined == 0, ct);
        var stats = pool.GetStats();
        stats.Kills.Should().Be(0, "the worker stopped within the grace after the cancel frame");
        Support.IsAlive(result.WorkerProcessId).Should().BeTrue();
        stats.ProcessIds.Should().Contain(result.WorkerProcessId);
    }

    [Test, CancelAfter(60_000)]
    public async Task Invoke_WhenSynchronousHandlerHonoursCancel_ReadsTheCancelFrameAndKeepsTheWorker(CancellationToken ct)
    {
        // The handler blocks the thread that read its call: the cancel frame must still be read (by the other thread).
        using var gate = new StartGate();
        await using var pool = await Support.StartPatientAsync(gate, ct);

        var result = await pool.SleepAsync("block", 30_000, new WorkerCallOptions { Deadline = TimeSpan.FromMilliseconds(300) }, ct);

        result.WasTimeout.Should().BeTrue();
        await pool.WaitUntilAsync(s => s.Quarantined == 0, ct);
        pool.GetStats().Kills.Should().Be(0, "the synchronous handler saw its token cancelled and stopped within the grace");
        var next = await pool.SleepAsync("block", 0, Support.Generous, ct);
        next.Value.Should().Be(result.WorkerProcessId, "the same worker serves the next call");
    }

    [Test, CancelAfter(60_000)]
    public async Task Invoke_WhenACancellationCallbackThrows_TheWorkerSurvivesIt(CancellationToken ct)
    {
        // The worker host cancels a call's token off its reading thread: a callback that throws must not take the
        // reading thread, and with it the worker, down.
        using var gate = new StartGate();
        await using var pool = await Support.StartPatientAsync(gate, ct);

        var result = await pool.SleepAsync("cancel-throws", 30_000, new WorkerCallOptions { Deadline = TimeSpan.FromMilliseconds(300) }, ct);

        result.WasTimeout.Should().BeTrue();
        await pool.WaitUntilAsync(s => s.Quarantined == 0, ct);
        var stats = pool.GetStats();
        stats.Crashes.Should().Be(0, "the throwing callback is the handler's problem; the worker answered the cancel");
        stats.Kills.Should().Be(0, "the handler stopped within the grace");
        var next = await pool.SleepAsync("sleep", 0, Support.Generous, ct);
        next.Value.Should().Be(result.WorkerProcessId, "the worker that answered the cancel lives on and serves the next call");
        pool.GetStats().Crashes.Should().Be(0);
    }

    [Test, CancelAfter(60_000)]
    public async Task Invoke_OfALargeRequestToAFrozenWorker_TimesOutAtItsDeadline_AndTheWorkerIsKilled(CancellationToken ct)
    {
        // A frozen worker (SIGSTOP: it reads nothing) cannot take a request larger than its stdin pipe's buffer. The
        // deadline runs while the request is written, so the call still ends on time and the kill ends the write.
        await using var pool = await Support.StartAsync(Support.Options(spare: false), ct);
        var pid = await pool.PidAsync();
        using (var freeze = Process.Start("kill", ["-STOP", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!)
        {
            await freeze.WaitForExitAsync(ct);
            freeze.ExitCode.Should().Be(0);
        }

        var result = await pool.InvokeBytesAsync("bytes", new byte[4 * 1024 * 1024], new WorkerCallOptions { Deadline = TimeSpan.FromMilliseconds(500) }, ct);

        result.WasTimeout.Should().BeTrue();
        await pool.WaitUntilAsync(s => s.Quarantined == 0 && s.IdleWorkers == 1, ct);
        pool.GetStats().Kills.Should().Be(1, "a frozen worker never answers the cancel: the grace ends in a kill");
        var next = await pool.SleepAsync("sleep", 0, Support.Generous, ct);
        next.Value.Should().NotBe(pid);
        await pool.DisposeAsync();
        Support.AssertNothingLeftOf(pid, next.Value);
    }

    [Test, CancelAfter(120_000)]
    public async Task Invoke_WhenWorkerIsKilled_ItsReplacementStartsBeforeTheKilledWorkerExits(CancellationToken ct)
    {
        // Without a spare, capacity comes back as fast as a spawn only if the spawn does not wait for the kill.
        var options = Support.Options(spare: false);
        options.CancelGrace = TimeSpan.FromSeconds(60);
        var pool = await Support.StartAsync(options, ct);
        await using var _ = pool;

        var result = await pool.SleepAsync("hang", 60_000, new WorkerCallOptions { Deadline = TimeSpan.FromMilliseconds(200) }, ct);

        result.WasTimeout.Should().BeTrue();
        await pool.WaitUntilAsync(s => s.IdleWorkers == 1, ct);
        var stats = pool.GetStats();
        stats.Quarantined.Should().Be(1, "the timed-out worker is still in its grace");
        stats.Kills.Should().Be(0);
        Support.IsAlive(result.WorkerProcessId).Should().BeTrue();
        var next = await pool.SleepAsync("sleep", 0, Support.Generous, ct);
        next.Value.Should().NotBe(result.WorkerProcessId, "the replacement serves while the stuck worker waits for its kill");

        await pool.DisposeAsync();
        Support.AssertNothingLeftOf(result.WorkerProcessId, next.Value);
    }

    [Test, CancelAfter(60_000)]
    public async Task Invoke_WithThrowBehavior_ThrowsTimeoutExceptionNamingTheDeadline(CancellationToken ct)
    {
        await using var pool = await Support.StartAsync(Support.Options(), ct);

        var act = () => pool.SleepAsync("hang", 20_000, new WorkerCallOptions { Deadline = TimeSpan.FromMilliseconds(400), TimeoutBehavior = WorkerTimeoutBehavior.Throw });

        var error = (await act.Should().ThrowAsync<WorkerTimeoutException>()).Which;
        error.Deadline.Should().Be(TimeSpan.FromMilliseconds(400));
        error.Operation.Should().Be("hang");
        error.ProcessId.Should().BePositive();
        error.Should().BeAssignableTo<WorkerException>();
    }

    [Test, CancelAfter(90_000)]
    public async Task Invoke_WithRetryOnTimeout_RetriesOnceOnAFreshWorker(CancellationToken ct)
    {
        await using var pool = await Support.StartAsync(Support.Options(), ct);

        var result = await pool.SleepAsync("hang", 20_000, new WorkerCallOptions { Deadline = TimeSpan.FromMilliseconds(500), RetryOnTimeout = true }, ct);

        result.WasTimeout.Should().BeTrue();
        result.Attempts.Should().Be(2);
        await pool.WhenReadyAsync(ct);
        var stats = pool.GetStats();
        stats.Timeouts.Should().Be(2);
        stats.Kills.Should().Be(2);
    }

    [Test, CancelAfter(60_000)]
    public async Task Invoke_WithFallback_RunsItOnTheThreadPoolAndSaysSo(CancellationToken ct)
    {
        await using var pool = await Support.StartAsync(Support.Options(), ct);
        int? fallbackThread = null;
        var onThreadPool = false;

        var result = await pool.InvokeWithFallbackAsync<SleepRequest, int>(
            "hang",
            new SleepRequest(20_000),
            (request, _) =>
            {
                fallbackThread = Environment.CurrentManagedThreadId;
                onThreadPool = Thread.CurrentThread.IsThreadPoolThread;
                return Task.FromResult(-request.Ms);
            },
            new WorkerCallOptions { Deadline = TimeSpan.FromMilliseconds(400) },
            ct);

        result.WasTimeout.Should().BeTrue();
        result.UsedFallback.Should().BeTrue();
        result.Value.Should().Be(-20_000);
        onThreadPool.Should().BeTrue();
        fallbackThread.Should().NotBeNull();
        pool.GetStats().Fallbacks.Should().Be(1);
    }

    [Test, CancelAfter(60_000)]
    public async Task Invoke_WithFallbackAndFastJob_DoesNotRunTheFallback(CancellationToken ct)
    {
        await using var pool = await Support.StartAsync(Support.Options(), ct);
        var ran = 0;

        var result = await pool.InvokeWithFallbackAsync<SleepRequest, int>(
            "sleep", new SleepRequest(1), (_, _) => Task.FromResult(Interlocked.Increment(ref ran)), Support.Generous, ct);

        result.UsedFallback.Should().BeFalse();
        result.WasTimeout.Should().BeFalse();
        ran.Should().Be(0);
    }
}
