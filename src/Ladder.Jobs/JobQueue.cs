using System.Diagnostics;
using Ladder.Jobs.Diagnostics;
using Ladder.Jobs.Storage;
using Ladder.Jobs.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ladder.Jobs;

/// <summary>
/// A durable job queue over a <see cref="JobStore"/>: the SQLite file of <see cref="LadderJobsOptions.Path"/> by
/// default, or the store set with <see cref="LadderJobsOptions.UseStore(Func{Storage.JobStore})"/> (e.g. PostgreSQL). Thread-safe; one
/// instance per store per process (several processes may share the same file or database). The queue validates
/// requests, applies backpressure, decides retries, raises wake-ups inside the process and records telemetry; the
/// store keeps the jobs and the leases.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711:Identifiers should not have incorrect suffix", Justification = "It is a job queue; the name says what it is.")]
public sealed partial class JobQueue : IAsyncDisposable
{
    /// <summary>The name of the meter and the activity source: <c>Ladder.Jobs</c>.</summary>
    public const string TelemetryName = JobsTelemetry.Name;

    private readonly JobStore _store;

    // The store when it is the SQLite one: its enqueue wakes this process's processors on its writer thread as the
    // insert commits, one thread-pool hop sooner than after its task (the enqueue-to-start latency).
    private readonly SqliteJobStore? _sqlite;
    private readonly SemaphoreSlim _enqueueRoom;
    private readonly HeldLeases _held;
    private int _disposed;

    private JobQueue(JobStore store, LadderJobsOptions options, TimeProvider time, ILoggerFactory loggerFactory)
    {
        _store = store;
        _sqlite = store as SqliteJobStore;
        Settings = options;
        Time = time;
        LoggerFactory = loggerFactory;
        Logger = loggerFactory.CreateLogger<JobQueue>();
        _enqueueRoom = new SemaphoreSlim(options.MaxPendingEnqueues, options.MaxPendingEnqueues);
        _held = new HeldLeases(this);
    }

    /// <summary>A copy of the options the queue was opened with (validated then). Changing it, or the object given to <see cref="Open"/>, changes nothing.</summary>
    public LadderJobsOptions Options => Settings.Copy();

    /// <summary>Where the queue keeps its jobs. Owned by the queue: opened by it, and disposed with it.</summary>
    public JobStore Store => _store;

    /// <summary>The queue's own copy of its options, taken and validated at <see cref="Open"/>; never changed.</summary>
    internal LadderJobsOptions Settings { get; }

    internal TimeProvider Time { get; }

    internal ILoggerFactory LoggerFactory { get; }

    internal ILogger Logger { get; }

    /// <summary>The SQLite store, for the SQLite-only tests and benchmarks.</summary>
    internal SqliteJobStore Sqlite => _sqlite ?? throw new InvalidOperationException($"The job queue's store is not the SQLite store: {_store.Location}");

    /// <summary>Commits so far, the operations they held, and how many ran at <c>synchronous=FULL</c> (SQLite store; tests, benchmarks).</summary>
    internal (long Batches, long Operations, long Flushed) WriterStats => Sqlite.WriterStats;

    /// <summary>Whether the queue is open and its store takes writes (the health check).</summary>
    internal bool IsStoreAvailable => Volatile.Read(ref _disposed) == 0 && _store.IsAvailable;

    /// <summary>Raised after a commit that made jobs of a queue runnable (enqueue, retry). Argument: the queue name.</summary>
    internal event Action<string>? JobsAvailable;

    /// <summary>Raised after a commit that cancelled a job. Argument: the job id.</summary>
    internal event Action<long>? JobCancelled;

    /// <summary>
    /// Opens the queue's store: the SQLite file of <see cref="LadderJobsOptions.Path"/> (created if missing, checked to be
    /// a Ladder.Jobs database of a known schema version, migrated), or the store set with
    /// <see cref="LadderJobsOptions.UseStore(Func{Storage.JobStore})"/>; then rescues jobs whose lease expired.
    /// </summary>
    /// <param name="options">The options; validated, every failure listed.</param>
    /// <param name="timeProvider">The clock. Default: <see cref="TimeProvider.System"/>.</param>
    /// <param name="loggerFactory">Logging. Default: none.</param>
    /// <returns>The open queue.</returns>
    /// <exception cref="LadderJobsOptionsException">The options are invalid.</exception>
    /// <exception cref="InvalidOperationException">The factory set with <see cref="LadderJobsOptions.UseStore(Func{Storage.JobStore})"/> returned no store, or a store another queue owns.</exception>
    /// <exception cref="JobStoreIncompatibleException">The file (or database) is not a Ladder.Jobs store or has a newer schema; it was not changed.</exception>
    /// <exception cref="JobStoreException">The store cannot be reached or written (for SQLite: the file or its directory is missing or read-only).</exception>
    public static JobQueue Open(LadderJobsOptions options, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        // A copy, validated: the caller's object may change afterwards (a negative concurrency, a zero lease) without
        // ever reaching the queue unvalidated.
        options = options.Copy();
        options.ThrowIfInvalid();
        var store = options.StoreFactory is { } factory
            ? factory() ?? throw new InvalidOperationException("The store factory set with LadderJobsOptions.UseStore returned null.")
            : SqliteJobStore.For(options);

        // The SQLite store opens synchronously and its writer runs on the thread pool, so this wait cannot deadlock.
        return OpenCoreAsync(store, options, timeProvider, loggerFactory, CancellationToken.None).GetAwaiter().GetResult();
    }

    /// <summary>
    /// Opens a queue over <paramref name="store"/>: opens the store (creating or migrating its schema), then rescues
    /// jobs whose lease expired. The queue owns the store from now on and disposes it with itself (also when opening fails).
    /// </summary>
    /// <param name="store">The store; not opened yet, and owned by no other queue.</param>
    /// <param name="options">
    /// The options; validated, every failure listed. The SQLite settings (<see cref="LadderJobsOptions.Path"/>,
    /// <see cref="LadderJobsOptions.Synchronous"/>, <see cref="LadderJobsOptions.ShareExistingDatabase"/>) are not used:
    /// <see cref="LadderJobsOptions.Path"/> must be empty, and no store may be set with <see cref="LadderJobsOptions.UseStore(Func{Storage.JobStore})"/>.
    /// </param>
    /// <param name="timeProvider">The clock. Default: <see cref="TimeProvider.System"/>.</param>
    /// <param name="loggerFactory">Logging. Default: none.</param>
    /// <param name="cancellationToken">Stops opening.</param>
    /// <returns>The open queue.</returns>
    /// <exception cref="LadderJobsOptionsException">The options are invalid.</exception>
    /// <exception cref="InvalidOperationException">The store is owned by another queue (a store is opened by one queue only); it was left as it was.</exception>
    /// <exception cref="JobStoreIncompatibleException">The store holds something else or a newer schema; it was not changed.</exception>
    /// <exception cref="JobStoreException">The store cannot be reached or written.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "Open and OpenAsync differ by name; the store comes first.")]
    public static Task<JobQueue> OpenAsync(JobStore store, LadderJobsOptions options, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        options = options.Copy();
        var failures = new List<string>(options.Validate(storeGiven: true));
        if (options.StoreFactory is not null)
        {
            failures.Add("UseStore: a store was given to OpenAsync and another was set with UseStore; give one.");
        }

        if (failures.Count > 0)
        {
            throw new LadderJobsOptionsException(failures);
        }

        return OpenCoreAsync(store, options, timeProvider, loggerFactory, cancellationToken);
    }

    private static async Task<JobQueue> OpenCoreAsync(JobStore store, LadderJobsOptions options, TimeProvider? timeProvider, ILoggerFactory? loggerFactory, CancellationToken cancellationToken)
    {
        if (!store.TryTakeOwnership())
        {
            throw new InvalidOperationException($"The job store at {store.Location} already belongs to a job queue: a store is opened by one queue, which disposes it. Create a store per queue.");
        }

        var queue = new JobQueue(store, options, timeProvider ?? TimeProvider.System, loggerFactory ?? NullLoggerFactory.Instance);
        try
        {
            await store.OpenAsync(new JobStoreContext(options, queue.Time, queue.LoggerFactory, queue.NotifyAvailable, queue.NotifyCancelled), cancellationToken).ConfigureAwait(false);
            if (store is SqliteJobStore sqlite)
            {
                Log.Opened(queue.Logger, sqlite.Location, sqlite.SchemaVersion, sqlite.Synchronous);
            }
            else
            {
                Log.OpenedStore(queue.Logger, store.Location, store.GetType().Name, store.SchemaVersion);
            }

            // Recovery on open: jobs left running by a process that died go back to their queue now, not at the
            // processor's first maintenance tick.
            await queue.RescueExpiredAsync().ConfigureAwait(false);
        }
        catch
        {
            await queue.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return queue;
    }

    /// <summary>Enqueues a job. Completes after the job is committed (durably, with <see cref="SynchronousMode.Full"/>).</summary>
    /// <param name="request">The job.</param>
    /// <param name="options">
    /// The job's options, for a request created without options of its own (a job's options are given once: in the
    /// request or here). <see langword="null"/>: the request's.
    /// </param>
    /// <param name="cancellationToken">Stops waiting; the enqueue may still commit.</param>
    /// <returns>The job id, and whether it was inserted or an existing job with the same unique key was returned.</returns>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    /// <exception cref="ArgumentException">The request's options are invalid, or options were given both in the request and here.</exception>
    /// <exception cref="JobStoreException">The store could not be written.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The typed and untyped overloads differ by their first parameter; the same shape after it makes EnqueueAsync(request) bind to this one, never to the typed one.")]
    public async Task<EnqueueResult> EnqueueAsync(JobRequest request, JobOptions? options = null, CancellationToken cancellationToken = default)
    {
        var results = await EnqueueBatchAsync([WithOptions(request, options)], cancellationToken).ConfigureAwait(false);
        return results[0];
    }

    /// <summary>Enqueues a typed job: its kind comes from <typeparamref name="TArgs"/> (see <see cref="JobKindAttribute"/>).</summary>
    /// <typeparam name="TArgs">The argument type. A <see cref="JobRequest"/> given here (e.g. by a caller generic over what it enqueues) is enqueued as the request it is, never as a payload.</typeparam>
    /// <param name="args">The arguments, stored as JSON.</param>
    /// <param name="options">Per-job options.</param>
    /// <param name="cancellationToken">Stops waiting; the enqueue may still commit.</param>
    /// <returns>The job id, and whether it was inserted.</returns>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The typed and untyped overloads differ by their first parameter.")]
    public Task<EnqueueResult> EnqueueAsync<TArgs>(TArgs args, JobOptions? options = null, CancellationToken cancellationToken = default) =>
        args is JobRequest request
            ? EnqueueAsync(request, options, cancellationToken)
            : EnqueueAsync(JobRequest.For(args, options), null, cancellationToken);

    /// <summary>Enqueues a job with the request's own options. Completes after the job is committed.</summary>
    /// <param name="request">The job.</param>
    /// <param name="cancellationToken">Stops waiting; the enqueue may still commit.</param>
    /// <returns>The job id, and whether it was inserted or an existing job with the same unique key was returned.</returns>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    /// <exception cref="ArgumentException">The request's options are invalid.</exception>
    /// <exception cref="JobStoreException">The store could not be written.</exception>
    public Task<EnqueueResult> EnqueueAsync(JobRequest request, CancellationToken cancellationToken) => EnqueueAsync(request, null, cancellationToken);

    // A job's options are given once: in the request, or beside it for a request created without its own.
    private static JobRequest WithOptions(JobRequest request, JobOptions? options)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (options is null)
        {
            return request;
        }

        return request.HasDefaultOptions
            ? new JobRequest(request.Kind, request.PayloadJson, options)
            : throw new ArgumentException("The request has options of its own and options were given beside it: give a job's options once.", nameof(options));
    }

    /// <summary>Enqueues many jobs in one transaction (in the SQLite store, each in its own savepoint).</summary>
    /// <param name="requests">The jobs.</param>
    /// <param name="cancellationToken">Stops waiting; the enqueue may still commit.</param>
    /// <returns>One result per request, in order.</returns>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    /// <exception cref="ArgumentException">A request's options are invalid; nothing was enqueued.</exception>
    /// <exception cref="JobStoreException">The store could not be written.</exception>
    public async Task<IReadOnlyList<EnqueueResult>> EnqueueBatchAsync(IReadOnlyList<JobRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        foreach (var request in requests)
        {
            ValidateRequest(request);
        }

        var traceParent = Activity.Current?.Id;
        var jobs = new NewJob[requests.Count];
        for (var i = 0; i < jobs.Length; i++)
        {
            jobs[i] = ToNewJob(requests[i], traceParent);
        }

        // Backpressure: a bounded number of enqueues wait for the store. Claims, outcomes and heartbeats never wait
        // here (they are bounded by the processors' slots and prefetch), so a burst of producers cannot stall them.
        await _enqueueRoom.WaitAsync(cancellationToken).ConfigureAwait(false);
        Task<IReadOnlyList<EnqueueResult>> task;
        try
        {
            // The store is never given the caller's token: the wake-up must follow a commit even when its caller
            // stopped waiting for it.
            task = _sqlite is { } sqlite
                ? sqlite.EnqueueAsync(jobs, results => AfterEnqueueCommitted(jobs, results))
                : ThenAsync(_store.EnqueueAsync(jobs, CancellationToken.None), results => AfterEnqueueCommitted(jobs, results));
        }
        catch
        {
            _enqueueRoom.Release();
            throw;
        }

        try
        {
            return await task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // The room is freed when the write is done, not when a cancelled caller stops waiting for it.
            if (task.IsCompleted)
            {
                _enqueueRoom.Release();
            }
            else
            {
                _ = task.ContinueWith(static (_, room) => ((SemaphoreSlim)room!).Release(), _enqueueRoom, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
    }

    /// <summary>
    /// Enlists a caller's transaction on the same SQLite file, to enqueue jobs that commit or vanish with the
    /// caller's own writes. Commit through the returned <see cref="JobTransaction"/> so processors wake at once.
    /// </summary>
    /// <param name="transaction">The caller's open transaction on a connection to this queue's file.</param>
    /// <returns>The enlistment.</returns>
    /// <exception cref="ArgumentException">The transaction's connection is on another file, or the transaction has completed.</exception>
    /// <exception cref="InvalidOperationException">The queue's store is not the SQLite store (enlist a transaction of its own store with <see cref="Enlist(JobEnlistment)"/>).</exception>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    public JobTransaction Enlist(SqliteTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ThrowIfDisposed();
        if (_sqlite is null)
        {
            throw new InvalidOperationException(
                $"The job queue's store is not the SQLite store ({_store.GetType().Name} at {_store.Location}): a SqliteTransaction cannot enlist in it. Enlist a transaction of that store with Enlist(JobEnlistment).");
        }

        return new JobTransaction(this, _sqlite.Enlist(transaction));
    }

    /// <summary>
    /// Enlists a caller's own transaction, as the queue's store wraps it (e.g. the PostgreSQL store's enlistment of an
    /// open transaction), to enqueue jobs that commit or vanish with the caller's writes. Commit through the returned
    /// <see cref="JobTransaction"/> so processors wake at once.
    /// </summary>
    /// <param name="enlistment">The caller's transaction, enlisted by this queue's store.</param>
    /// <returns>The enlistment.</returns>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    public JobTransaction Enlist(JobEnlistment enlistment)
    {
        ArgumentNullException.ThrowIfNull(enlistment);
        ThrowIfDisposed();
        return new JobTransaction(this, enlistment);
    }

    internal static void ValidateRequest(JobRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var o = request.Options;
        if (o.RunAt is not null && o.Delay is not null)
        {
            throw new ArgumentException("Set RunAt or Delay, not both.", nameof(request));
        }

        if (o.MaxAttempts is < 1)
        {
            throw new ArgumentException($"MaxAttempts must be at least 1 (was {o.MaxAttempts}).", nameof(request));
        }

        if (o.Timeout is { } t && t != Timeout.InfiniteTimeSpan && (t <= TimeSpan.Zero || t > JobOptions.MaxTimeout))
        {
            throw new ArgumentException($"Timeout must be positive and at most {JobOptions.MaxTimeout} (the timer limit), or Timeout.InfiniteTimeSpan for none (was {t}).", nameof(request));
        }

        if (o.Queue is not null && string.IsNullOrWhiteSpace(o.Queue))
        {
            throw new ArgumentException("Queue must not be empty.", nameof(request));
        }

        if (o.UniqueKey is not null && string.IsNullOrWhiteSpace(o.UniqueKey))
        {
            // An empty key would be one key shared by every job of the kind: all but the first would be dropped.
            throw new ArgumentException("UniqueKey must not be empty (null means none).", nameof(request));
        }

        if (o.ConcurrencyKey is { } key && (string.IsNullOrWhiteSpace(key) || key.Length > JobOptions.MaxConcurrencyKeyLength))
        {
            throw new ArgumentException($"ConcurrencyKey must not be empty and at most {JobOptions.MaxConcurrencyKeyLength} characters (null means none; was {key.Length} characters).", nameof(request));
        }

        if (o.ConcurrencyLimit is { } limit)
        {
            if (o.ConcurrencyKey is null)
            {
                throw new ArgumentException("ConcurrencyLimit needs a ConcurrencyKey: the limit counts the running jobs of a key.", nameof(request));
            }

            if (limit is < 1 or > JobOptions.MaxConcurrencyLimit)
            {
                throw new ArgumentException($"ConcurrencyLimit must be 1..{JobOptions.MaxConcurrencyLimit} (was {limit}).", nameof(request));
            }
        }

        if (o.Delay is { } d && d < TimeSpan.Zero)
        {
            throw new ArgumentException($"Delay must not be negative (was {d}).", nameof(request));
        }
    }

    /// <summary>The job a request asks for, with the queue's defaults: what a store inserts.</summary>
    internal NewJob ToNewJob(JobRequest request, string? traceParent)
    {
        var o = request.Options;
        return new NewJob(
            o.Queue ?? "default", request.Kind, request.PayloadJson, o.Priority, o.RunAt, o.Delay ?? TimeSpan.Zero, o.MaxAttempts ?? Settings.DefaultMaxAttempts,
            o.Timeout is { } t && t != Timeout.InfiniteTimeSpan ? t : null, o.UniqueKey, traceParent, o.ConcurrencyKey,
            o.ConcurrencyKey is null ? 0 : o.ConcurrencyLimit ?? 1);
    }

    // Runs the queue's in-process follow-up of a store write (a wake-up, a signal) after it commits.
    private static async Task<T> ThenAsync<T>(Task<T> write, Action<T> committed)
    {
        var result = await write.ConfigureAwait(false);
        committed(result);
        return result;
    }

    internal void AfterEnqueueCommitted(IReadOnlyList<NewJob> jobs, IReadOnlyList<EnqueueResult> results)
    {
        string? last = null;
        for (var i = 0; i < results.Count; i++)
        {
            if (!results[i].Inserted)
            {
                continue;
            }

            var queue = jobs[i].Queue;
            JobsTelemetry.Enqueued.Add(1, JobsTelemetry.Queue(queue));
            if (!string.Equals(queue, last, StringComparison.Ordinal))
            {
                NotifyAvailable(queue);
                last = queue;
            }
        }
    }

    internal void NotifyAvailable(string queue) => JobsAvailable?.Invoke(queue);

    internal void NotifyCancelled(long id) => JobCancelled?.Invoke(id);

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    /// <summary>Stops accepting work, lets the store commit what it already accepted, and disposes the store. Harmless twice.</summary>
    /// <returns>A task that completes when the store is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Wakes every WaitForFinishAsync: its next read throws ObjectDisposedException (it would otherwise wait for a
        // poll, or for ever on a clock that never moves). Set after _disposed, so a waiter taking the new signal reads
        // the queue as disposed.
        Interlocked.Exchange(ref _finished, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        await _store.DisposeAsync().ConfigureAwait(false);
    }
}
