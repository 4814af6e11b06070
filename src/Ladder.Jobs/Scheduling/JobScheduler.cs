using System.Threading.Channels;
using Ladder.Jobs.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ladder.Jobs;

/// <summary>
/// Fires the recurring schedules of a <see cref="JobQueue"/>'s store: at start it stores the schedules declared in code
/// and reports those no longer declared; then one loop with one timer sleeps until the earliest next tick of all
/// schedules (or <see cref="JobSchedulerOptions.RefreshInterval"/>), fires what is due, and sleeps again. A hosted
/// service; also usable without a host (Start/Stop/Dispose). Any number of schedulers, in any processes sharing the
/// store, may run at once: each tick enqueues one job (see <c>docs/jobs/schedules.md</c>).
/// </summary>
public sealed partial class JobScheduler : IHostedService, IAsyncDisposable
{
    private readonly JobQueue _queue;
    private readonly JobSchedulerOptions _options;
    private readonly JobSchedule[] _declared;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Lock _lifecycle = new();
    private readonly HashSet<string> _unreadable = new(StringComparer.Ordinal);
    private TaskCompletionSource _waiting = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _loop = Task.CompletedTask;

    // The scheduler's one timer, created at start and re-armed before each sleep: its expiry and every wake-up write the
    // same signal. One ITimer for the scheduler's life, whatever the number of schedules.
    private ITimer? _timer;
    private long _reads;
    private long _waits;
    private int _started;
    private bool _disposed;

    /// <summary>Creates a scheduler for a queue. Nothing runs before <see cref="StartAsync"/>.</summary>
    /// <param name="queue">The queue whose store keeps the schedules and receives their jobs.</param>
    /// <param name="options">The schedules declared in code and the scheduler's settings; <see langword="null"/>: none declared, defaults.</param>
    /// <exception cref="LadderJobsOptionsException">The options are invalid (every failure listed).</exception>
    public JobScheduler(JobQueue queue, JobSchedulerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(queue);
        options ??= new JobSchedulerOptions();
        var failures = options.Validate();
        if (failures.Count > 0)
        {
            throw new LadderJobsOptionsException(failures);
        }

        _queue = queue;
        _declared = [.. options.Schedules];
        _options = new JobSchedulerOptions
        {
            ReportOrphans = options.ReportOrphans,
            RefreshInterval = options.RefreshInterval,
            MissedTickTolerance = options.MissedTickTolerance,
            BatchSize = options.BatchSize,
        };
        _time = queue.Time;
        _logger = queue.LoggerFactory.CreateLogger<JobScheduler>();
    }

    /// <summary>Reads of the store's due schedules so far (tests, the idle-cost measurement).</summary>
    internal long StoreReads => Interlocked.Read(ref _reads);

    /// <summary>Times the loop went to sleep on its timer so far (tests).</summary>
    internal long Waits => Interlocked.Read(ref _waits);

    /// <summary>
    /// Stores the declared schedules and reports orphans, then starts the loop. Awaits the store: a schedule that
    /// cannot be stored fails the start.
    /// </summary>
    /// <param name="cancellationToken">Stops the start.</param>
    /// <returns>A task that completes once the declared schedules are stored and the loop runs.</returns>
    /// <exception cref="InvalidOperationException">Already started (a start that failed or was cancelled may be tried again).</exception>
    /// <exception cref="ObjectDisposedException">The scheduler or its queue was disposed.</exception>
    /// <exception cref="JobStoreException">The store could not be written.</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_lifecycle)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (Interlocked.Exchange(ref _started, 1) != 0)
            {
                throw new InvalidOperationException("The scheduler was already started.");
            }
        }

        try
        {
            _queue.ThrowIfDisposed();
            await DeclareAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Nothing runs yet: a start that failed (cancelled, or a schedule the store refused) may be tried again.
            // Before, the scheduler stayed marked started with no loop: it never fired, and could not be started.
            Interlocked.Exchange(ref _started, 0);
            throw;
        }

        lock (_lifecycle)
        {
            if (_disposed || _stopping.IsCancellationRequested)
            {
                return;
            }

            _queue.SchedulesChanged += OnSchedulesChanged;
            _timer = _time.CreateTimer(static state => ((JobScheduler)state!).OnSchedulesChanged(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _loop = Task.Run(LoopAsync, CancellationToken.None);
        }

        Log.SchedulerStarted(_logger, _declared.Length);
    }

    /// <summary>Stops the loop (a fire in progress completes first). Harmless twice.</summary>
    /// <param name="cancellationToken">Stops waiting for the loop.</param>
    /// <returns>A task that completes when the loop has ended.</returns>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Task loop;
        lock (_lifecycle)
        {
            if (_stopping.IsCancellationRequested)
            {
                loop = _loop;
            }
            else
            {
                _stopping.Cancel();
                _queue.SchedulesChanged -= OnSchedulesChanged;
                loop = _loop;
                if (Volatile.Read(ref _started) != 0)
                {
                    Log.SchedulerStopped(_logger);
                }
            }
        }

        await loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (loop.IsCompleted && Interlocked.Exchange(ref _timer, null) is { } timer)
        {
            await timer.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Stops (see <see cref="StopAsync"/>) and releases resources. Does not dispose the queue. Harmless twice.</summary>
    /// <returns>A task that completes when stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        lock (_lifecycle)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stopping.Dispose();
    }

    // The declared schedules go in first, then the orphans are looked for: a schedule this host declares is never
    // reported, whatever the order of the hosts' starts.
    private async Task DeclareAsync(CancellationToken cancellationToken)
    {
        foreach (var schedule in _declared)
        {
            await _queue.UpsertScheduleAsync(schedule, declaredInCode: true, cancellationToken).ConfigureAwait(false);
        }

        if (!_options.ReportOrphans)
        {
            return;
        }

        var declared = new HashSet<string>(_declared.Select(static s => s.Name), StringComparer.Ordinal);
        foreach (var row in await _queue.Store.GetSchedulesAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!row.DeclaredInCode || declared.Contains(row.Name))
            {
                continue;
            }

            // Compare-and-set on the version read: a host that declared it again meanwhile keeps it active.
            if (row.Orphaned || await _queue.Store.MarkScheduleOrphanedAsync(row.Name, row.Version, cancellationToken).ConfigureAwait(false))
            {
                Log.ScheduleOrphaned(_logger, row.Name);
            }
        }
    }

    private void OnSchedulesChanged() => _wake.Writer.TryWrite(true);

    private async Task LoopAsync()
    {
        var stop = _stopping.Token;
        while (!stop.IsCancellationRequested)
        {
            TimeSpan delay;
            try
            {
                // Consumed before the read: a change committed during the pass leaves a fresh signal.
                _wake.Reader.TryRead(out _);
                var next = await PassAsync(stop).ConfigureAwait(false);
                var refresh = _options.RefreshInterval;
                delay = next is { } at && at - _time.GetUtcNow() is var untilNext && untilNext < refresh ? untilNext : refresh;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (Exception e)
            {
                delay = _options.RefreshInterval < TimeSpan.FromSeconds(5) ? _options.RefreshInterval : TimeSpan.FromSeconds(5);
                Log.SchedulerPassFailed(_logger, delay, e);
            }

            try
            {
                if (delay > TimeSpan.Zero)
                {
                    await WaitAsync(delay, stop).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    // Sleeps on the one timer (re-armed, never created here) or a wake-up, whichever comes first.
    private async Task WaitAsync(TimeSpan delay, CancellationToken stop)
    {
        Volatile.Read(ref _timer)?.Change(delay, Timeout.InfiniteTimeSpan);
        Interlocked.Increment(ref _waits);
        Interlocked.Exchange(ref _waiting, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        await _wake.Reader.WaitToReadAsync(stop).ConfigureAwait(false);
        stop.ThrowIfCancellationRequested();
    }

    /// <summary>Completes once the loop has gone to sleep at least <paramref name="count"/> times (tests).</summary>
    internal async Task WaitForWaitsAsync(long count, CancellationToken cancellationToken)
    {
        while (true)
        {
            var signal = Volatile.Read(ref _waiting).Task;
            if (Waits >= count)
            {
                return;
            }

            await signal.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// One pass: reads the due schedules, fires each, and returns when to look again (the earliest next tick, now if
    /// a full batch was read or a tick was lost to another process, or <see langword="null"/>: no tick is coming).
    /// </summary>
    internal async Task<DateTimeOffset?> PassAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        Interlocked.Increment(ref _reads);
        SchedulerTelemetry.Reads.Add(1);
        var due = await _queue.Store.GetDueSchedulesAsync(now, _options.BatchSize, cancellationToken).ConfigureAwait(false);
        var next = due.NextTick;
        var moved = false;
        foreach (var row in due.Due)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var after = await FireAsync(row, now).ConfigureAwait(false);
            moved |= after is not null;
            if (after is { } a && (next is null || a < next))
            {
                next = a;
            }
        }

        // A full batch that moved: more may be due. (Rows that cannot fire, unreadable or failing, never make it spin.)
        return due.Due.Count >= _options.BatchSize && moved ? now : next;
    }

    // Returns the row's next tick if this process advanced it; now if another process did (look again: its new next
    // tick is unknown here); null if the row cannot fire.
    private async Task<DateTimeOffset?> FireAsync(Storage.ScheduleRow row, DateTimeOffset now)
    {
        if (ScheduleSpec.Parse(row.Spec, out var error) is not { } spec)
        {
            lock (_unreadable)
            {
                if (_unreadable.Add(row.Name + "#" + row.Version))
                {
                    Log.ScheduleUnreadable(_logger, row.Name, error!);
                }
            }

            return null;
        }

        var tick = row.NextTick!.Value;
        var (jobTick, nextTick, missed) = spec.Decide(tick, now, _options.MissedTickTolerance);
        var job = jobTick is { } jt ? spec.NewJob(row.Name, jt, _queue.Settings.DefaultMaxAttempts) : null;
        Storage.ScheduleFireResult result;
        try
        {
            // At-most-once per tick: the row's compare-and-set and the job's insert commit together, or neither does
            // (a lost answer is found out by the next read: the row either moved on or is still due).
            result = await _queue.Store.FireScheduleAsync(new Storage.ScheduleFire(row.Name, row.Version, tick, nextTick, job, jobTick)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.ScheduleFireFailed(_logger, row.Name, e);
            return null;
        }

        var tag = SchedulerTelemetry.Schedule(row.Name);
        if (!result.Advanced)
        {
            SchedulerTelemetry.Lost.Add(1, tag);
            return now;
        }

        if (missed)
        {
            Log.ScheduleMissed(_logger, row.Name, tick, spec.Missed, job is null ? "skipped" : $"one job for {jobTick:o}", nextTick);
        }

        if (job is null)
        {
            SchedulerTelemetry.Skipped.Add(1, tag);
        }
        else if (result.Job is { } enqueued)
        {
            SchedulerTelemetry.Fired.Add(1, tag);
            _queue.AfterEnqueueCommitted([job], [enqueued]);
            Log.ScheduleFired(_logger, row.Name, jobTick!.Value, enqueued.JobId, enqueued.Inserted);
        }

        return nextTick;
    }
}
