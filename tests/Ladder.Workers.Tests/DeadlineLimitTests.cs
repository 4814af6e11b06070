using Microsoft.Extensions.Time.Testing;

namespace Ladder.Workers.Tests;

/// <summary>Deadlines past what a timer can hold, and an attempt that fails for a reason that is not the worker's.</summary>
public sealed class DeadlineLimitTests
{
    [Test, CancelAfter(60_000)]
    public async Task Invoke_WithADeadlineOverTheTimerLimit_IsRefusedBeforeSending_AndLosesNoWorker(CancellationToken ct)
    {
        await using var pool = await Support.StartAsync(Support.Options(spare: false), ct);
        var pid = await pool.PidAsync();

        var act = () => pool.SleepAsync("sleep", 1, new WorkerCallOptions { Deadline = TimeSpan.FromDays(60) }, ct);

        (await act.Should().ThrowAsync<ArgumentOutOfRangeException>()).Which.Message.Should().Contain("Deadline");
        (await pool.PidAsync().WaitAsync(TimeSpan.FromSeconds(30), ct)).Should().Be(pid, "the worker was never given the call");
        pool.GetStats().BusyWorkers.Should().Be(0);
    }

    [Test, CancelAfter(60_000)]
    public async Task Invoke_WithAnInfiniteDeadline_RunsWithoutADeadline(CancellationToken ct)
    {
        await using var pool = await Support.StartAsync(Support.Options(spare: false), ct);

        var result = await pool.SleepAsync("sleep", 50, new WorkerCallOptions { Deadline = Timeout.InfiniteTimeSpan }, ct);

        result.HasValue.Should().BeTrue();
        result.WasTimeout.Should().BeFalse();
        result.Deadline.Should().Be(Timeout.InfiniteTimeSpan);
    }

    [Test, CancelAfter(60_000)]
    public async Task Invoke_WhenTheAttemptFailsUnexpectedly_TheWorkerIsNotLost(CancellationToken ct)
    {
        var time = new OneTimerFailsTimeProvider();
        await using var pool = await Support.StartAsync(Support.Options(spare: false), ct, time);
        var pid = await pool.PidAsync();

        // The deadline's timer cannot be created: the call was already sent when the attempt fails.
        time.FailNextTimer();
        var act = () => pool.SleepAsync("sleep", 1, Support.Generous, ct);

        (await act.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Be(OneTimerFailsTimeProvider.Message);
        var next = await pool.PidAsync().WaitAsync(TimeSpan.FromSeconds(30), ct);
        next.Should().BePositive("the worker went back to the pool (or was replaced) instead of staying busy for ever");
        await pool.WhenReadyAsync(ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
        pool.GetStats().Workers.Should().Be(1);
    }

    /// <summary>The system clock, except that one timer, once armed, fails to be created.</summary>
    private sealed class OneTimerFailsTimeProvider : TimeProvider
    {
        public const string Message = "injected: the timer could not be created";
        private int _armed;

        public void FailNextTimer() => Volatile.Write(ref _armed, 1);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            Interlocked.Exchange(ref _armed, 0) == 1
                ? throw new InvalidOperationException(Message)
                : System.CreateTimer(callback, state, dueTime, period);
    }

    [Test, CancelAfter(60_000)]
    public async Task Invoke_WhenNoWorkerFreesUpWithinMaxQueueWait_FailsWithQueueTimeout(CancellationToken ct)
    {
        var time = new FakeTimeProvider();
        var pool = await Support.StartAsync(Support.Options(spare: false), ct, time);
        await using var disposal = pool.DisposingOn(time);
        using var hold = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var running = pool.SleepAsync("sleep", 60_000, Support.Generous, hold.Token);
        await pool.WaitUntilAsync(s => s.BusyWorkers == 1, ct);

        var queued = pool.SleepAsync("sleep", 1, new WorkerCallOptions { Deadline = TimeSpan.FromSeconds(2), MaxQueueWait = TimeSpan.FromSeconds(1) }, ct);
        await pool.WaitUntilAsync(s => s.QueuedCalls == 1, ct);
        time.Advance(TimeSpan.FromSeconds(1));

        var error = (await FluentActions.Awaiting(() => queued).Should().ThrowAsync<WorkerQueueTimeoutException>()).Which;
        error.MaxQueueWait.Should().Be(TimeSpan.FromSeconds(1));
        error.Operation.Should().Be("sleep");
        await hold.CancelAsync();
        await FluentActions.Awaiting(() => running).Should().ThrowAsync<OperationCanceledException>();
    }

    [Test, CancelAfter(60_000)]
    public async Task Stats_ACallThatStartsWaitingLater_WakesAWaiterOnTheQueuedCount(CancellationToken ct)
    {
        // The tests above wait for QueuedCalls == 1 before advancing the fake clock; a wait that began before the call
        // queued was never woken (the count changed without a signal), which hung them on a busy machine.
        await using var pool = await Support.StartAsync(Support.Options(spare: false), ct);
        using var hold = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var running = pool.SleepAsync("sleep", 60_000, Support.Generous, hold.Token);
        await pool.WaitUntilAsync(s => s.BusyWorkers == 1, ct);

        var seen = pool.WaitUntilAsync(s => s.QueuedCalls == 1, ct);
        var queued = pool.SleepAsync("sleep", 1, Support.Generous, hold.Token);

        await seen.WaitAsync(TimeSpan.FromSeconds(30), ct);
        pool.GetStats().QueuedCalls.Should().Be(1);
        await hold.CancelAsync();
        await FluentActions.Awaiting(() => queued).Should().ThrowAsync<OperationCanceledException>();
        await FluentActions.Awaiting(() => running).Should().ThrowAsync<OperationCanceledException>();
    }

    [Test, CancelAfter(60_000)]
    public async Task Invoke_WithAPoolMaxQueueWait_BoundsTheWaitOfEveryCall(CancellationToken ct)
    {
        var time = new FakeTimeProvider();
        var options = Support.Options(spare: false);
        options.MaxQueueWait = TimeSpan.FromMilliseconds(500);
        var pool = await Support.StartAsync(options, ct, time);
        await using var disposal = pool.DisposingOn(time);
        using var hold = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var running = pool.SleepAsync("sleep", 60_000, Support.Generous, hold.Token);
        await pool.WaitUntilAsync(s => s.BusyWorkers == 1, ct);

        var queued = pool.SleepAsync("sleep", 1, Support.Generous, ct);
        await pool.WaitUntilAsync(s => s.QueuedCalls == 1, ct);
        time.Advance(TimeSpan.FromMilliseconds(500));

        await FluentActions.Awaiting(() => queued).Should().ThrowAsync<WorkerQueueTimeoutException>();
        await hold.CancelAsync();
        await FluentActions.Awaiting(() => running).Should().ThrowAsync<OperationCanceledException>();
        (await pool.SleepAsync("sleep", 1, Support.Generous, ct)).HasValue.Should().BeTrue("a call that gets a worker at once is not bounded by the queue wait");
    }

    [Test, CancelAfter(60_000)]
    public async Task Invoke_WhenAMeterListenerThrowsOnce_TheWorkerIsNotLost(CancellationToken ct)
    {
        await using var pool = await Support.StartAsync(Support.Options(spare: false), ct);
        var pid = await pool.PidAsync();
        var armed = 1;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Ladder.Workers" && instrument.Name == "ladder.workers.queue.wait")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, _, _, _) =>
        {
            if (Interlocked.Exchange(ref armed, 0) == 1)
            {
                throw new InvalidOperationException("injected: a listener failed");
            }
        });
        listener.Start();

        await FluentActions.Awaiting(() => pool.PidAsync()).Should().ThrowAsync<InvalidOperationException>();

        (await pool.PidAsync().WaitAsync(TimeSpan.FromSeconds(30), ct)).Should().Be(pid, "the worker got no call and went back to the pool");
    }

    [Test, CancelAfter(60_000)]
    public async Task Invoke_WhenAnActivityListenerThrowsOnce_NoQueueSlotIsLost(CancellationToken ct)
    {
        var options = Support.Options(spare: false);
        options.QueueCapacity = 0;
        options.QueueFullMode = WorkerQueueFullMode.FailFast;
        await using var pool = await Support.StartAsync(options, ct);
        var armed = 1;
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = source => source.Name == "Ladder.Workers",
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllData,
            ActivityStarted = _ =>
            {
                if (Interlocked.Exchange(ref armed, 0) == 1)
                {
                    throw new InvalidOperationException("injected: a listener failed");
                }
            },
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);

        await FluentActions.Awaiting(() => pool.PidAsync()).Should().ThrowAsync<InvalidOperationException>();

        (await pool.PidAsync()).Should().BePositive("the only admission slot was given back");
    }
}
