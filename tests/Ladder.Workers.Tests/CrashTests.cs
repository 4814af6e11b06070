namespace Ladder.Workers.Tests;

public sealed class CrashTests
{
    [Test, CancelAfter(60_000)]
    public async Task Invoke_WhenWorkerExits_ThrowsCrashWithExitCodeAndStderrTail_AndPoolHeals(CancellationToken ct)
    {
        await using var pool = await Support.StartAsync(Support.Options(), ct);

        var error = (await FluentActions.Awaiting(() => pool.CallAsync("exit", 42)).Should().ThrowAsync<WorkerCrashedException>()).Which;

        error.ExitCode.Should().Be(42);
        error.Reason.Should().Be(WorkerExitReason.Exited);
        error.Signal.Should().BeNull();
        error.Operation.Should().Be("exit");
        error.StderrTail.Should().Contain("exiting with 42");
        await pool.WhenReadyAsync(ct);
        Support.AssertNothingLeftOf(error.ProcessId!.Value);
        (await pool.PidAsync()).Should().NotBe(error.ProcessId!.Value);
        pool.GetStats().Crashes.Should().Be(1);
    }

    [Test, CancelAfter(60_000)]
    public async Task Invoke_WhenWorkerFailsFast_ThrowsCrashWithSignal(CancellationToken ct)
    {
        await using var pool = await Support.StartAsync(Support.Options(), ct);

        var error = (await FluentActions.Awaiting(() => pool.CallAsync("failfast", 0)).Should().ThrowAsync<WorkerCrashedException>()).Which;

        error.Reason.Should().Be(WorkerExitReason.Signal);
        error.Signal.Should().Be(6, "FailFast aborts (SIGABRT)");
        error.StderrTail.Should().Contain("fail fast requested");
        await pool.WhenReadyAsync(ct);
        (await pool.PidAsync()).Should().NotBe(error.ProcessId!.Value);
    }

    [Test, CancelAfter(90_000)]
    public async Task Invoke_WhenStackOverflows_ThrowsCrash(CancellationToken ct)
    {
        await using var pool = await Support.StartAsync(Support.Options(), ct);

        var error = (await FluentActions.Awaiting(() => pool.CallAsync("overflow", 0)).Should().ThrowAsync<WorkerCrashedException>()).Which;

        error.Reason.Should().Be(WorkerExitReason.Signal);
        error.StderrTail.Should().Contain("Stack overflow");
        await pool.WhenReadyAsync(ct);
        (await pool.PidAsync()).Should().BePositive();
    }

    [Test, CancelAfter(60_000)]
    public async Task Invoke_WhenAllocatingPastHeapCap_ThrowsOutOfMemoryCrash(CancellationToken ct)
    {
        var options = Support.Options();
        options.HeapHardLimitBytes = 64 * 1024 * 1024;
        await using var pool = await Support.StartAsync(options, ct);

        var error = (await FluentActions.Awaiting(() => pool.CallAsync("alloc", 0)).Should().ThrowAsync<WorkerCrashedException>()).Which;

        error.Reason.Should().Be(WorkerExitReason.OutOfMemory);
        error.StderrTail.Should().Contain("out of memory");
        await pool.WhenReadyAsync(ct);
        (await pool.PidAsync()).Should().NotBe(error.ProcessId!.Value);
    }

    [Test, CancelAfter(60_000)]
    public async Task Invoke_WhenAllocatingPastHeapCap_EndsTheWorkerAtOnce_EvenIfAnExitHandlerBlocks(CancellationToken ct)
    {
        // The runtime's orderly exit waits, without a bound, for the process's exit handlers (run by the finalizer
        // thread): a worker that ended that way after its heap ran out sat silent until its deadline.
        var options = Support.Options();
        options.HeapHardLimitBytes = 64 * 1024 * 1024;
        await using var pool = await Support.StartAsync(options, ct);

        var call = () => pool.CallAsync("alloc-exit-blocked", 0, new WorkerCallOptions { Deadline = TimeSpan.FromSeconds(20) });

        var error = (await call.Should().ThrowAsync<WorkerCrashedException>()).Which;
        error.Reason.Should().Be(WorkerExitReason.OutOfMemory);
        error.ExitCode.Should().Be(71);
        error.StderrTail.Should().Contain("out of memory");
    }

    [Test, CancelAfter(60_000)]
    public async Task Invoke_WhenHandlerThrows_ThrowsRemoteExceptionAndKeepsTheWorker(CancellationToken ct)
    {
        await using var pool = await Support.StartAsync(Support.Options(), ct);
        var pid = await pool.PidAsync();

        var error = (await FluentActions.Awaiting(() => pool.InvokeAsync<string, int>("throw", "bad replay", Support.Generous, ct))
            .Should().ThrowAsync<WorkerRemoteException>()).Which;

        error.RemoteType.Should().Be("System.InvalidOperationException");
        error.RemoteMessage.Should().Be("bad replay");
        error.RemoteStackTrace.Should().Contain("Throw");
        error.ProcessId.Should().Be(pid);
        (await pool.PidAsync()).Should().Be(pid, "a handler exception is not a crash");
        var stats = pool.GetStats();
        stats.RemoteErrors.Should().Be(1);
        stats.Crashes.Should().Be(0);
    }

    [Test, CancelAfter(60_000)]
    public async Task Invoke_WhenOperationIsUnknown_ThrowsRemoteException(CancellationToken ct)
    {
        await using var pool = await Support.StartAsync(Support.Options(), ct);

        var error = (await FluentActions.Awaiting(() => pool.CallAsync("no-such-operation", 0)).Should().ThrowAsync<WorkerRemoteException>()).Which;

        error.RemoteMessage.Should().Contain("no-such-operation");
    }

    [Test, CancelAfter(60_000)]
    public async Task Invoke_WhenWorkerWritesGarbageToStdout_KillsItWithProtocolError(CancellationToken ct)
    {
        await using var pool = await Support.StartAsync(Support.Options(), ct);

        var error = (await FluentActions.Awaiting(() => pool.CallAsync("garbage", 0)).Should().ThrowAsync<WorkerProtocolException>()).Which;

        error.Detail.Should().NotBeNullOrEmpty();
        await pool.WhenReadyAsync(ct);
        Support.AssertNothingLeftOf(error.ProcessId!.Value);
        (await pool.PidAsync()).Should().NotBe(error.ProcessId!.Value);
        pool.GetStats().ProtocolErrors.Should().Be(1);
    }

    [Test, CancelAfter(60_000)]
    public async Task Invoke_WhenWorkerSendsOversizedFrame_KillsItWithProtocolError(CancellationToken ct)
    {
        await using var pool = await Support.StartAsync(Support.Options(), ct);

        var error = (await FluentActions.Awaiting(() => pool.CallAsync("oversized", 0)).Should().ThrowAsync<WorkerProtocolException>()).Which;

        error.Detail.Should().Contain("exceeds the cap");
        await pool.WhenReadyAsync(ct);
        Support.AssertNothingLeftOf(error.ProcessId!.Value);
    }

    [Test, CancelAfter(60_000)]
    public async Task Invoke_WhenHandlerWritesToConsole_DoesNotCorruptTheProtocol(CancellationToken ct)
    {
        await using var pool = await Support.StartAsync(Support.Options(), ct);

        var result = await pool.InvokeAsync<string, int>("print", "stray output from a handler", Support.Generous, ct);

        result.Value.Should().Be(result.WorkerProcessId);
        (await pool.PidAsync()).Should().Be(result.WorkerProcessId);
    }

    [Test, CancelAfter(60_000)]
    public async Task Invoke_WhenRequestExceedsFrameCap_ThrowsBeforeSending(CancellationToken ct)
    {
        var options = Support.Options();
        options.MaxFrameBytes = 64 * 1024;
        await using var pool = await Support.StartAsync(options, ct);
        var pid = await pool.PidAsync();

        var act = () => pool.InvokeBytesAsync("bytes", new byte[128 * 1024], Support.Generous, ct);

        (await act.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("MaxFrameBytes");
        (await pool.PidAsync()).Should().Be(pid);
    }

    [Test, CancelAfter(60_000)]
    public async Task Invoke_WhenResponseExceedsFrameCap_ThrowsRemoteExceptionAndKeepsTheWorker(CancellationToken ct)
    {
        var options = Support.Options();
        options.MaxFrameBytes = 64 * 1024;
        await using var pool = await Support.StartAsync(options, ct);

        // The worker echoes 60 KiB; with the 8-byte memory prefix and headers it stays under the cap...
        var ok = await pool.InvokeBytesAsync("bytes", new byte[60 * 1024], Support.Generous, ct);
        ok.Value.Should().HaveCount(60 * 1024);

        // ...but a request exactly at the cap makes a response one byte over it: the worker reports it instead of sending it.
        var error = (await FluentActions.Awaiting(() => pool.InvokeBytesAsync("bytes", new byte[(64 * 1024) - 16], Support.Generous, ct))
            .Should().ThrowAsync<WorkerRemoteException>()).Which;
        error.RemoteType.Should().Be("Ladder.Workers.ResponseTooLarge");
        (await pool.PidAsync()).Should().Be(ok.WorkerProcessId);
    }

    [Test, CancelAfter(60_000)]
    public async Task Invoke_WhenWorkerIsKilledFromOutside_ThrowsCrashWithSignal9(CancellationToken ct)
    {
        await using var pool = await Support.StartAsync(Support.Options(spare: false), ct);
        var pid = await pool.PidAsync();

        var call = pool.SleepAsync("hang", 60_000, Support.Generous, ct);
        using (var worker = System.Diagnostics.Process.GetProcessById(pid))
        {
            worker.Kill();
        }

        var error = (await FluentActions.Awaiting(() => call).Should().ThrowAsync<WorkerCrashedException>()).Which;
        error.Reason.Should().Be(WorkerExitReason.Signal);
        error.Signal.Should().Be(9);
        error.ProcessId.Should().Be(pid);
        await pool.WhenReadyAsync(ct);
        (await pool.PidAsync()).Should().NotBe(pid);
    }

    [Test, CancelAfter(60_000)]
    public async Task IdleWorkers_WhenTheyDie_AreReplacedWithoutFailingAnyCall(CancellationToken ct)
    {
        await using var pool = await Support.StartAsync(Support.Options(workers: 1), ct);
        var pids = pool.GetStats().ProcessIds.ToArray();

        foreach (var pid in pids)
        {
            using var worker = System.Diagnostics.Process.GetProcessById(pid);
            worker.Kill();
        }

        await pool.WaitUntilAsync(s => s.Crashes == 2, ct);
        await pool.WhenReadyAsync(ct);
        var stats = pool.GetStats();
        stats.Crashes.Should().Be(2, "the idle worker and the spare died");
        stats.ProcessIds.Should().NotIntersectWith(pids);
        (await pool.PidAsync()).Should().BePositive();
        Support.AssertNothingLeftOf(pids);
    }

    [Test, CancelAfter(60_000)]
    public async Task CrashMessage_AfterFailFast_ShowsTheReasonLine_NotTheEndOfTheStackTrace(CancellationToken ct)
    {
        await using var pool = await Support.StartAsync(Support.Options(), ct);

        var error = (await FluentActions.Awaiting(() => pool.CallAsync("failfast", 0)).Should().ThrowAsync<WorkerCrashedException>()).Which;

        error.Message.Should().Contain("Last stderr: Process terminated. test worker: fail fast requested");
        error.Message.Should().NotContain("   at ");
    }

    [Test, CancelAfter(90_000)]
    public async Task CrashMessage_AfterStackOverflow_ShowsTheReasonLine(CancellationToken ct)
    {
        await using var pool = await Support.StartAsync(Support.Options(), ct);

        var error = (await FluentActions.Awaiting(() => pool.CallAsync("overflow", 0)).Should().ThrowAsync<WorkerCrashedException>()).Which;

        error.Message.Should().Contain("Last stderr: Stack overflow.");
    }

    [Test, CancelAfter(60_000)]
    public async Task Invoke_OfAHandlerMappedAsALambdaThatOnlyThrows_ThrowsRemoteException(CancellationToken ct)
    {
        // The test worker maps "throw-inline" as Map<int, int>("throw-inline", (_, _) => throw ...): it must compile.
        await using var pool = await Support.StartAsync(Support.Options(), ct);

        var error = (await FluentActions.Awaiting(() => pool.CallAsync("throw-inline", 0)).Should().ThrowAsync<WorkerRemoteException>()).Which;

        error.RemoteType.Should().Be("System.InvalidOperationException");
        error.RemoteMessage.Should().Be("thrown inline");
    }
}
