using Ladder.Jobs.Storage;
using System.Collections.Concurrent;
using Ladder.Jobs.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ladder.Jobs;

/// <summary>
/// Runs the jobs of a <see cref="JobQueue"/>: per queue, a fetcher claims jobs under leases and hands them through a
/// channel to a bounded number of handler tasks. A hosted service; also usable without a host (Start/Stop/Dispose).
/// </summary>
public sealed partial class JobProcessor : IHostedService, IAsyncDisposable
{
    private readonly JobQueue _queue;
    private readonly JobHandlerRegistry _handlers;
    private readonly IServiceProvider? _services;
    private readonly LadderJobsOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Dictionary<string, QueueWorker> _workers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, RunningJob> _running = new();
    private readonly ConcurrentDictionary<Task, byte> _reports = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _interrupt = new();

    // Taken once: the claim's commit callback builds entries from it, and a token stays usable after its source is
    // disposed (reading _interrupt.Token then would throw on the writer thread).
    private readonly CancellationToken _interruptToken;

    // The leases this processor holds, read by its queue's rescue (on the writer thread) so it never takes them.
    private readonly Func<IReadOnlyCollection<ClaimedJob>> _heldLeases;
    private Task _heartbeat = Task.CompletedTask;
    private Task _rescue = Task.CompletedTask;
    private Task _upkeep = Task.CompletedTask;
    private int _started;
    private bool _disposed;
    private Task? _stop;

    // Start and dispose exclude each other: a processor disposed (its token sources freed) never starts its loops, and
    // a dispose racing a start sees the loops it must stop.
    private readonly Lock _lifecycle = new();
    private int _givenBack;

    /// <summary>Creates a processor for a queue. Nothing runs before <see cref="StartAsync"/>.</summary>
    /// <param name="queue">The queue; its options give the queues, concurrency, leases and grace periods.</param>
    /// <param name="handlers">The handlers per kind.</param>
    /// <param name="services">Services for handlers registered by type (a scope is created per job). Optional otherwise.</param>
    /// <exception cref="InvalidOperationException">A handler is registered by type but no services were given.</exception>
    public JobProcessor(JobQueue queue, JobHandlerRegistry handlers, IServiceProvider? services = null)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(handlers);
        if (handlers.NeedsServices && services is null)
        {
            throw new InvalidOperationException("A handler is registered by type (Add<TArgs, THandler>); give the processor an IServiceProvider.");
        }

        _queue = queue;
        _handlers = handlers;
        _services = services;
        _interruptToken = _interrupt.Token;
        _heldLeases = HeldJobsSnapshot;
        _options = queue.Settings;
        _time = queue.Time;
        _logger = queue.LoggerFactory.CreateLogger<JobProcessor>();
        foreach (var (name, concurrency) in _options.Queues)
        {
            _workers[name] = new QueueWorker(name, concurrency, _options.Prefetch);
        }
    }

    /// <summary>How many jobs this processor holds leases on (running or claimed ahead).</summary>
    public int HeldJobs => _running.Count;

    /// <summary>Starts claiming and running jobs. Returns at once.</summary>
    /// <param name="cancellationToken">Unused: starting does not wait.</param>
    /// <returns>A completed task.</returns>
    /// <exception cref="InvalidOperationException">Already started.</exception>
    /// <exception cref="ObjectDisposedException">The processor or its queue was disposed.</exception>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_lifecycle)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            StartLocked();
        }

        return Task.CompletedTask;
    }

    private void StartLocked()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("The processor was already started.");
        }

        _queue.ThrowIfDisposed();
        // Made first (the only step here that could throw), so the schedules count from the start.
        var rescueTimer = new PeriodicTimer(_options.RescueInterval, _time);
        var upkeepTimer = new PeriodicTimer(_options.MaintenanceInterval, _time);
        _queue.JobsAvailable += OnJobsAvailable;
        _queue.JobCancelled += OnJobCancelled;
        _queue.AddLeaseHolder(_heldLeases);
        foreach (var worker in _workers.Values)
        {
            worker.Fetcher = Task.Run(() => FetchLoopAsync(worker), CancellationToken.None);
            worker.Workers = new Task[worker.Concurrency];
            for (var i = 0; i < worker.Concurrency; i++)
            {
                worker.Workers[i] = Task.Run(() => WorkerLoopAsync(worker), CancellationToken.None);
            }
        }

        _heartbeat = Task.Run(HeartbeatLoopAsync, CancellationToken.None);
        _rescue = Task.Run(() => RescueLoopAsync(rescueTimer), CancellationToken.None);
        _upkeep = Task.Run(() => UpkeepLoopAsync(upkeepTimer), CancellationToken.None);
        Log.ProcessorStarted(_logger, string.Join(", ", _workers.Values.Select(w => $"{w.Name}×{w.Concurrency}")));
    }

    /// <summary>
    /// Stops claiming; lets running handlers finish within <see cref="LadderJobsOptions.ShutdownGrace"/>; then cancels
    /// their tokens and gives every job still held back to the queue without spending an attempt. Harmless twice.
    /// </summary>
    /// <param name="cancellationToken">Cuts the grace period short; for a later call while a stop is in progress, stops waiting for it.</param>
    /// <returns>A task that completes when nothing is held any more (for every call, also one made while a stop is in progress).</returns>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _started) == 0)
        {
            return;
        }

        var mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (Interlocked.CompareExchange(ref _stop, mine.Task, null) is { } inProgress)
        {
            // A stop is in progress or done: wait for it, so that a dispose never frees what that stop still uses
            // (and never returns before the jobs are given back).
            await inProgress.WaitAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        try
        {
            await StopOnceAsync(cancellationToken).ConfigureAwait(false);
            mine.TrySetResult();
        }
        catch (Exception e)
        {
            mine.TrySetException(e);
            throw;
        }
    }

    private async Task StopOnceAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _queue.JobsAvailable -= OnJobsAvailable;
        _queue.JobCancelled -= OnJobCancelled;
        foreach (var worker in _workers.Values)
        {
            await worker.Fetcher.ConfigureAwait(false);
            worker.Dispatch.Writer.TryComplete();
        }

        // Workers give back what is still in their channel and finish what they run, within the grace period.
        var allWorkers = Task.WhenAll(_workers.Values.SelectMany(w => w.Workers));
        try
        {
            await allWorkers.WaitAsync(_options.ShutdownGrace, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            // Past the grace: interrupt the handlers and give their jobs back ourselves (a handler that ignores
            // its token cannot hold shutdown; its late outcome will find its lease gone).
        }

        foreach (var entry in _running.Values)
        {
            entry.Cancel(RunningJob.Interrupted);
        }

        await _interrupt.CancelAsync().ConfigureAwait(false);
        foreach (var entry in _running.Values)
        {
            if (entry.TryFinish())
            {
                await GiveBackQuietlyAsync(entry).ConfigureAwait(false);
            }
        }

        await Task.WhenAll(_reports.Keys).ConfigureAwait(false);
        _queue.RemoveLeaseHolder(_heldLeases);
        await _heartbeat.ConfigureAwait(false);
        await _rescue.ConfigureAwait(false);
        await _upkeep.ConfigureAwait(false);
        Log.ProcessorStopped(_logger, Volatile.Read(ref _givenBack));
    }

    /// <summary>Stops (see <see cref="StopAsync"/>; waits for a stop already in progress) and releases resources. Does not dispose the queue.</summary>
    /// <returns>A task that completes when stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        lock (_lifecycle)
        {
            _disposed = true;
        }

        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stopping.Dispose();
        _interrupt.Dispose();
    }

    private void OnJobsAvailable(string queue)
    {
        if (_workers.TryGetValue(queue, out var worker))
        {
            worker.Wake.Writer.TryWrite(true);
        }
    }

    private void OnJobCancelled(long id)
    {
        if (_running.TryGetValue(id, out var entry))
        {
            entry.Cancel(RunningJob.Cancelled);
        }
    }
}
