using Ladder.Workers.Processes;

namespace Ladder.Workers;

public sealed partial class WorkerPool
{
    private bool _breakerOpen;
    private bool _halfOpen;
    private int _consecutiveStartFailures;
    private TimeSpan _nextBackoff;
    private long _breakerRetryAt;
    private WorkerStartException? _lastStartError;
    private int _breakerOpenings;
    private TaskCompletionSource _breakerOpenedSignal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>For tests: completes once the breaker has opened at least <paramref name="times"/> times and no start is in flight.</summary>
    internal async Task WhenBreakerOpenedAsync(int times)
    {
        while (true)
        {
            Task signal;
            lock (_lock)
            {
                if (_breakerOpenings >= times && _breakerOpen && _spawning == 0)
                {
                    return;
                }

                signal = _breakerOpenedSignal.Task;
            }

            await signal.ConfigureAwait(false);
        }
    }

    /// <summary>Starts as many workers as are missing (serving + spare + starting = target). Never a loop: each start is one task.</summary>
    private void EnsureCapacity()
    {
        int toSpawn;
        lock (_lock)
        {
            if (_disposed != 0 || _breakerOpen)
            {
                return;
            }

            var target = _options.WorkerCount + (_options.WarmSpare ? 1 : 0);
            toSpawn = target - (_active + (_spare is null ? 0 : 1) + _spawning);

            // Half-open breaker: one probe at a time until a worker starts again.
            if (_halfOpen)
            {
                toSpawn = _spawning == 0 ? Math.Min(toSpawn, 1) : 0;
            }

            if (toSpawn <= 0)
            {
                return;
            }

            _spawning += toSpawn;
        }

        for (var i = 0; i < toSpawn; i++)
        {
            Track(Task.Run(SpawnOneAsync));
        }
    }

    private async Task SpawnOneAsync()
    {
        var started = _time.GetTimestamp();
        WorkerProcess worker;
        try
        {
            worker = WorkerProcess.Start(_options, _logger, _time);
        }
        catch (WorkerStartException ex)
        {
            OnSpawnFailed(ex);
            return;
        }

        bool disposed;
        lock (_lock)
        {
            _live.Add(worker);
            disposed = _disposed != 0;
        }

        if (disposed)
        {
            // Dispose may have taken its snapshot before this process existed.
            await worker.KillAsync().ConfigureAwait(false);
        }

        try
        {
            await worker.HandshakeAsync().ConfigureAwait(false);
        }
        catch (WorkerStartException ex)
        {
            lock (_lock)
            {
                _live.Remove(worker);
            }

            OnSpawnFailed(ex);
            return;
        }

        var elapsed = _time.GetElapsedTime(started);
        WorkersTelemetry.RecordSafely(WorkersTelemetry.SpawnDuration, elapsed.TotalSeconds);
        Log.WorkerStarted(_logger, worker.Pid, elapsed.TotalMilliseconds);
        Interlocked.Increment(ref _spawns);
        WorkersTelemetry.AddSafely(WorkersTelemetry.Spawns, 1, new KeyValuePair<string, object?>("outcome", "ok"));

        bool keep, closed;
        lock (_lock)
        {
            _spawning--;
            closed = _halfOpen;
            _halfOpen = false;
            _consecutiveStartFailures = 0;
            _nextBackoff = _options.BreakerInitialBackoff;
            worker.RecycleLimit = RecycleLimit(_options.RecycleAfterCalls);
            keep = PlaceLocked(worker);
        }

        if (closed)
        {
            Log.BreakerClosed(_logger);
        }

        // Out of rotation the moment it is known dead (exit, end of stdout, broken stdin), before the exit details are in.
        _ = worker.Dead.ContinueWith(
            static (_, s) => ((WorkerPool)((object[])s!)[0]).OnWorkerDied((WorkerProcess)((object[])s!)[1]),
            new object[] { this, worker },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        _ = worker.Faulted.ContinueWith(
            static (t, s) => ((WorkerPool)((object[])s!)[0]).OnWorkerFaulted((WorkerProcess)((object[])s!)[1], t.Result),
            new object[] { this, worker },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);

        if (!keep)
        {
            Track(RetireAsync(worker));
        }

        EnsureCapacity();
    }

    /// <summary>N calls plus up to 10 % jitter, computed without overflow: a limit near <see cref="int.MaxValue"/> stays there.</summary>
    private static int RecycleLimit(int? recycleAfterCalls)
    {
        if (recycleAfterCalls is not { } n)
        {
            return int.MaxValue;
        }

        return (int)Math.Min(int.MaxValue, (long)n + Random.Shared.Next(0, (n / 10) + 1));
    }

    /// <summary>Puts a ready worker where it is needed: serving, then the spare slot; false when it is surplus.</summary>
    private bool PlaceLocked(WorkerProcess worker)
    {
        if (_disposed != 0 || worker.IsDead || worker.Faulted.IsCompleted)
        {
            worker.State = WorkerState.Retired;
            return false;
        }

        if (_active < _options.WorkerCount)
        {
            worker.State = WorkerState.Idle;
            _active++;
            WorkersTelemetry.AddSafely(WorkersTelemetry.PoolSize, 1);
            _idle.Writer.TryWrite(worker);
            SignalReadyLocked();
            return true;
        }

        if (_options.WarmSpare && _spare is null)
        {
            worker.State = WorkerState.Spare;
            _spare = worker;
            SignalReadyLocked();
            return true;
        }

        worker.State = WorkerState.Retired;
        return false;
    }

    /// <summary>A serving worker left rotation: the warm spare takes its place at once (a hand-over, not a spawn).</summary>
    private void RemoveFromRotationLocked(WorkerProcess worker, WorkerState newState)
    {
        worker.State = newState;
        _active--;
        WorkersTelemetry.AddSafely(WorkersTelemetry.PoolSize, -1);
        if (_spare is { } spare && _disposed == 0)
        {
            _spare = null;
            spare.State = WorkerState.Idle;
            _active++;
            WorkersTelemetry.AddSafely(WorkersTelemetry.PoolSize, 1);
            _idle.Writer.TryWrite(spare);
        }
    }

    private void OnSpawnFailed(WorkerStartException error)
    {
        TimeSpan backoff = default;
        CancellationTokenSource? wake = null;
        Task? probeDelay = null;
        bool opened = false;
        int failures;
        int stillStarting;
        Interlocked.Increment(ref _spawnFailures);
        WorkersTelemetry.AddSafely(WorkersTelemetry.Spawns, 1, new KeyValuePair<string, object?>("outcome", "failed"));
        lock (_lock)
        {
            _spawning--;
            stillStarting = _spawning;
            _lastStartError = error;
            failures = ++_consecutiveStartFailures;
            // A start that was already in flight when the breaker opened only adds to the count: one opening, one probe timer.
            if (_disposed == 0 && !_breakerOpen && (_halfOpen || failures >= _options.BreakerThreshold))
            {
                opened = true;
                _breakerOpen = true;
                _halfOpen = false;
                backoff = _nextBackoff == TimeSpan.Zero ? _options.BreakerInitialBackoff : _nextBackoff;
                _nextBackoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.BreakerMaxBackoff.Ticks));
                _breakerRetryAt = _time.GetTimestamp() + (long)(backoff.TotalSeconds * _time.TimestampFrequency);

                // Wake waiting calls (they fail if no worker is left) and fail anyone waiting for readiness.
                wake = _wake;
                _wake = new CancellationTokenSource();
                foreach (var waiter in _readyWaiters)
                {
                    waiter.TrySetException(Unavailable());
                }

                _readyWaiters.Clear();
                _breakerOpenings++;

                // The probe's timer starts before anyone can see the breaker open: whoever observes the opening and
                // then moves the clock (a FakeTimeProvider in tests, or a slow thread against a real one) moves it
                // past a timer that already exists, never past one that is created afterwards.
                probeDelay = Task.Delay(backoff, _time, _shutdown.Token);
            }

            _breakerOpenedSignal.TrySetResult();
            _breakerOpenedSignal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        // Outside the lock: cancelling runs the waiting calls' callbacks.
        wake?.Cancel();
        if (_disposed != 0)
        {
            return;
        }

        Log.WorkerStartFailed(_logger, failures, error.Message);
        if (!opened)
        {
            // Below the threshold: try again once no other start is in flight (that one's outcome decides next), so a
            // storm costs at most the threshold in starts; with the breaker open, EnsureCapacity does nothing.
            if (stillStarting == 0)
            {
                EnsureCapacity();
            }

            return;
        }

        Log.BreakerOpened(_logger, backoff.TotalMilliseconds);
        Track(ProbeAfterAsync(probeDelay!));
    }

    private async Task ProbeAfterAsync(Task delay)
    {
        try
        {
            await delay.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        lock (_lock)
        {
            _breakerOpen = false;
            _halfOpen = true;
        }

        EnsureCapacity();
    }

    // operation: the call refused; null for WhenReadyAsync, which is no call.
    private WorkerPoolUnavailableException Unavailable(string? operation = null)
    {
        var retryAfter = TimeSpan.FromSeconds(Math.Max(0, _breakerRetryAt - _time.GetTimestamp()) / (double)_time.TimestampFrequency);
        return new WorkerPoolUnavailableException(
            $"Workers keep failing to start ({_consecutiveStartFailures} in a row); the pool stopped spawning and tries again in {retryAfter.TotalMilliseconds:0} ms. Last error: {_lastStartError?.Message}",
            _lastStartError)
        {
            RetryAfter = retryAfter,
            Operation = operation,
        };
    }

    /// <summary>The worker can no longer serve. Runs once per worker (after its exit was observed or waited for).</summary>
    private void OnWorkerFaulted(WorkerProcess worker, Exception error)
    {
        bool unexpected;
        lock (_lock)
        {
            unexpected = worker.State is WorkerState.Idle or WorkerState.Busy or WorkerState.Spare or WorkerState.Dead;
            switch (worker.State)
            {
                case WorkerState.Idle or WorkerState.Busy:
                    RemoveFromRotationLocked(worker, WorkerState.Retired);
                    break;
                case WorkerState.Spare:
                    _spare = null;
                    worker.State = WorkerState.Retired;
                    break;
                case WorkerState.Dead:
                    // Already out of rotation (OnWorkerDied): only the accounting is left.
                    worker.State = WorkerState.Retired;
                    break;
                default:
                    // Quarantined or retired: the pool ended it on purpose and accounts for it there.
                    break;
            }

            if (worker.HasExited)
            {
                _live.Remove(worker);
                worker.Release();
            }

            SignalReadyLocked();
        }

        if (unexpected)
        {
            if (error is WorkerProtocolException)
            {
                Interlocked.Increment(ref _protocolErrors);
                Interlocked.Increment(ref _kills);
                WorkersTelemetry.AddSafely(WorkersTelemetry.Kills, 1);
            }
            else
            {
                Interlocked.Increment(ref _crashes);
            }

            WorkersTelemetry.AddSafely(WorkersTelemetry.Crashes, 1);
            Log.WorkerFaulted(_logger, worker.Pid, error.Message);
        }

        EnsureCapacity();
    }

    /// <summary>Stops a worker that is out of rotation (recycled, surplus, shutting down): shutdown frame, bounded wait, kill.</summary>
    private async Task RetireAsync(WorkerProcess worker)
    {
        var wait = _options.KillWait < TimeSpan.FromSeconds(2) ? _options.KillWait : TimeSpan.FromSeconds(2);
        if (!await worker.StopAsync(wait).ConfigureAwait(false))
        {
            Log.WorkerDidNotExit(_logger, worker.Pid);
        }
    }
}
