using System.Text.Json;
using System.Threading.Channels;
using Ladder.Workers.Processes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ladder.Workers;

/// <summary>
/// A pool of long-lived worker processes that run calls with a deadline. A call that passes its deadline is
/// cancelled in its worker, and the worker's process group is killed if it does not stop within the grace; a worker
/// that dies is reported and replaced; the pool never hangs and never leaves a process behind.
/// </summary>
/// <remarks>
/// The constructor starts <see cref="WorkerPoolOptions.WorkerCount"/> workers (plus a warm spare) in the background;
/// <see cref="WhenReadyAsync"/> waits for them. Thread-safe. Dispose to stop every worker.
/// </remarks>
public sealed partial class WorkerPool : IAsyncDisposable
{
    private readonly WorkerPoolOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly JsonSerializerOptions _json;
    private readonly Channel<WorkerProcess> _idle = Channel.CreateUnbounded<WorkerProcess>();
    private readonly SemaphoreSlim _admission;
    private readonly SemaphoreSlim _fallbackGate;
    private readonly CancellationTokenSource _shutdown = new();
    private readonly Lock _lock = new();

    // Every process started and not yet seen exiting: dispose kills whatever is in here.
    private readonly HashSet<WorkerProcess> _live = [];
    private readonly HashSet<Task> _background = [];
    private readonly List<TaskCompletionSource> _readyWaiters = [];
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _disposeCompleted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Cancelled (and replaced) to wake every waiting call: the breaker opened, or the pool is disposed.
    private CancellationTokenSource _wake = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WorkerProcess? _spare;
    private int _active;
    private int _spawning;
    private int _quarantined;
    private int _waiting;

    // Set once a stats watcher (WaitUntilAsync, tests) has looked: from then on a change of _waiting is signalled too.
    private int _statsWatched;
    private int _inFlight;
    private int _disposed;

    private long _calls;
    private long _succeeded;
    private long _timeouts;
    private long _cancelled;
    private long _remoteErrors;
    private long _crashes;
    private long _protocolErrors;
    private long _recycles;
    private long _kills;
    private long _spawns;
    private long _spawnFailures;
    private long _fallbacks;

    /// <summary>Creates the pool and starts its workers in the background.</summary>
    /// <param name="options">The options; validated here.</param>
    /// <param name="logger">Logger. Default: none.</param>
    /// <param name="timeProvider">Clock for deadlines, graces and backoff. Default: <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options are invalid (every failure is listed).</exception>
    public WorkerPool(WorkerPoolOptions options, ILogger<WorkerPool>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        WorkerPoolOptionsValidator.ThrowIfInvalid(options);
        _options = options;
        _logger = logger is null ? NullLogger.Instance : new NonThrowingLogger(logger);
        _time = timeProvider ?? TimeProvider.System;
        _json = options.JsonSerializerOptions ?? JsonSerializerOptions.Web;
        _admission = new SemaphoreSlim(options.WorkerCount + options.QueueCapacity);
        _fallbackGate = new SemaphoreSlim(options.FallbackConcurrency);
        EnsureCapacity();
    }

    /// <summary>Waits until every worker (and the warm spare) is started and nothing is being started, stopped or killed.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when the pool is at full strength.</returns>
    /// <exception cref="WorkerPoolUnavailableException">The restart-storm breaker opened: workers keep failing to start.</exception>
    /// <exception cref="ObjectDisposedException">The pool is disposed.</exception>
    public Task WhenReadyAsync(CancellationToken cancellationToken = default)
    {
        TaskCompletionSource waiter;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            if (IsReadyLocked())
            {
                return Task.CompletedTask;
            }

            if (_breakerOpen)
            {
                return Task.FromException(Unavailable());
            }

            waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _readyWaiters.Add(waiter);
        }

        return waiter.Task.WaitAsync(cancellationToken);
    }

    /// <summary>A snapshot of the pool's workers and counters (for a status page or a health check).</summary>
    /// <returns>The snapshot.</returns>
    public WorkerPoolStats GetStats()
    {
        lock (_lock)
        {
            int idle = 0, busy = 0, starting = 0;
            var pids = new List<int>(_live.Count);
            foreach (var worker in _live)
            {
                pids.Add(worker.Pid);
                switch (worker.State)
                {
                    case WorkerState.Idle: idle++; break;
                    case WorkerState.Busy: busy++; break;
                    case WorkerState.Starting: starting++; break;
                    default: break;
                }
            }

            return new WorkerPoolStats
            {
                Workers = _active,
                IdleWorkers = idle,
                BusyWorkers = busy,
                SpareReady = _spare is not null,
                SpareProcessId = _spare?.Pid,
                Starting = starting,
                Quarantined = _quarantined,
                QueuedCalls = Volatile.Read(ref _waiting),
                InFlightCalls = Volatile.Read(ref _inFlight),
                ProcessIds = pids,
                Calls = Interlocked.Read(ref _calls),
                Succeeded = Interlocked.Read(ref _succeeded),
                Timeouts = Interlocked.Read(ref _timeouts),
                Cancelled = Interlocked.Read(ref _cancelled),
                RemoteErrors = Interlocked.Read(ref _remoteErrors),
                Crashes = Interlocked.Read(ref _crashes),
                ProtocolErrors = Interlocked.Read(ref _protocolErrors),
                Recycles = Interlocked.Read(ref _recycles),
                Kills = Interlocked.Read(ref _kills),
                Spawns = Interlocked.Read(ref _spawns),
                SpawnFailures = Interlocked.Read(ref _spawnFailures),
                Fallbacks = Interlocked.Read(ref _fallbacks),
                BreakerOpen = _breakerOpen,
                LastStartError = _lastStartError?.Message,
            };
        }
    }

    private bool IsReadyLocked() =>
        !_breakerOpen
        && _active == _options.WorkerCount
        && (_spare is not null || !_options.WarmSpare)
        && _spawning == 0
        && _live.Count == _active + (_spare is null ? 0 : 1);

    /// <summary>For tests: waits until the stats satisfy <paramref name="condition"/> (re-checked on every state change).</summary>
    internal async Task WaitUntilAsync(Func<WorkerPoolStats, bool> condition, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                Interlocked.Exchange(ref _statsWatched, 1);
                changed = _changed.Task;
            }

            if (condition(GetStats()))
            {
                return;
            }

            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private void SignalReadyLocked()
    {
        _changed.TrySetResult();
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (_readyWaiters.Count == 0 || !IsReadyLocked())
        {
            return;
        }

        foreach (var waiter in _readyWaiters)
        {
            waiter.TrySetResult();
        }

        _readyWaiters.Clear();
    }

    private void Track(Task task)
    {
        lock (_lock)
        {
            if (task.IsCompleted)
            {
                return;
            }

            _background.Add(task);
        }

        _ = task.ContinueWith(
            static (t, s) =>
            {
                var pool = (WorkerPool)s!;
                lock (pool._lock)
                {
                    pool._background.Remove(t);
                }
            },
            this,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }
}
