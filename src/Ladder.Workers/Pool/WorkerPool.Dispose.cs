using Ladder.Workers.Processes;

namespace Ladder.Workers;

public sealed partial class WorkerPool
{
    /// <summary>
    /// Stops accepting calls, gives in-flight calls <see cref="WorkerPoolOptions.ShutdownGrace"/> to finish, then stops
    /// every worker (shutdown frame, bounded wait, kill of the process group). No worker process outlives this call.
    /// Disposing twice is harmless.
    /// </summary>
    /// <returns>A task that completes when every worker is gone.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            await _disposeCompleted.Task.ConfigureAwait(false);
            return;
        }

        try
        {
            var inFlight = Volatile.Read(ref _inFlight);
            Log.ShuttingDown(_logger, inFlight);
            CancellationTokenSource wake;
            lock (_lock)
            {
                wake = _wake;
                foreach (var waiter in _readyWaiters)
                {
                    waiter.TrySetException(new ObjectDisposedException(nameof(WorkerPool)));
                }

                _readyWaiters.Clear();
            }

            await wake.CancelAsync().ConfigureAwait(false);
            await _shutdown.CancelAsync().ConfigureAwait(false);
            if (Volatile.Read(ref _inFlight) == 0)
            {
                _drained.TrySetResult();
            }

            try
            {
                await _drained.Task.WaitAsync(_options.ShutdownGrace, _time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // The grace is over: the calls still running end with WorkerPoolUnavailableException when their workers go.
            }

            await StopAllAsync().ConfigureAwait(false);

            // Starts, settles and retirements still running finish within their own bounds (start-up timeout, kill wait).
            Task[] background;
            lock (_lock)
            {
                background = [.. _background];
            }

            try
            {
                await Task.WhenAll(background).WaitAsync(_options.StartupTimeout + _options.KillWait, _time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Bounded: fall through to the last sweep.
            }

            await StopAllAsync().ConfigureAwait(false);
            _shutdown.Dispose();
        }
        finally
        {
            _disposeCompleted.TrySetResult();
        }
    }

    private async Task StopAllAsync()
    {
        WorkerProcess[] all;
        lock (_lock)
        {
            all = [.. _live];
            foreach (var worker in all)
            {
                if (worker.State is WorkerState.Idle or WorkerState.Busy)
                {
                    _active--;
                    WorkersTelemetry.AddSafely(WorkersTelemetry.PoolSize, -1);
                }

                if (worker.State != WorkerState.Starting)
                {
                    worker.State = WorkerState.Retired;
                }
            }

            _spare = null;
        }

        var wait = _options.KillWait < TimeSpan.FromSeconds(1) ? _options.KillWait : TimeSpan.FromSeconds(1);
        await Task.WhenAll(all.Select(w => w.State == WorkerState.Starting ? w.KillAsync() : w.StopAsync(wait))).ConfigureAwait(false);
        foreach (var worker in all)
        {
            if (worker.HasExited)
            {
                lock (_lock)
                {
                    _live.Remove(worker);
                }
            }
        }
    }
}
