using System.Diagnostics;
using Ladder.Jobs.Diagnostics;
using Ladder.Jobs.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ladder.Jobs;

/// <summary>
/// A durable job queue in one SQLite file. Thread-safe; one instance per file per process (several processes
/// may open the same file). Writes go through one connection that commits them in groups.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711:Identifiers should not have incorrect suffix", Justification = "It is a job queue; the name says what it is.")]
public sealed partial class JobQueue : IAsyncDisposable
{
    /// <summary>The name of the meter and the activity source: <c>Ladder.Jobs</c>.</summary>
    public const string TelemetryName = JobsTelemetry.Name;

    private readonly Writer _writer;
    private readonly CoalescedWrites _completions;
    private readonly string _readConnectionString;
    private readonly SemaphoreSlim _enqueueRoom;
    private int _disposed;

    private JobQueue(LadderJobsOptions options, SqliteConnection connection, TimeProvider time, ILoggerFactory loggerFactory)
    {
        Settings = options;
        Time = time;
        LoggerFactory = loggerFactory;
        Logger = loggerFactory.CreateLogger<JobQueue>();
        FullPath = System.IO.Path.GetFullPath(options.Path);
        _readConnectionString = Schema.ConnectionString(options.Path);
        _enqueueRoom = new SemaphoreSlim(options.MaxPendingEnqueues, options.MaxPendingEnqueues);
        _writer = new Writer(connection, options, Logger);
        StartMarks = new CoalescedWrites(_writer, Sql.MarkStarted, durable: false, returnsIds: false);
        _completions = new CoalescedWrites(_writer, Sql.Complete, durable: true, returnsIds: true, Now);
    }

    /// <summary>A copy of the options the queue was opened with (validated then). Changing it, or the object given to <see cref="Open"/>, changes nothing.</summary>
    public LadderJobsOptions Options => Settings.Copy();

    /// <summary>The queue's own copy of its options, taken and validated at <see cref="Open"/>; never changed.</summary>
    internal LadderJobsOptions Settings { get; }

    internal TimeProvider Time { get; }

    /// <summary>
    /// Records that the handlers of jobs claimed ahead have started, so that a crash counts as a rescue only for runs
    /// that had started. Not awaited (see <c>JobProcessor.MarkStartedAsync</c>), and taken off again when the handler
    /// finishes first.
    /// </summary>
    internal CoalescedWrites StartMarks { get; }

    internal ILoggerFactory LoggerFactory { get; }

    internal ILogger Logger { get; }

    internal string FullPath { get; }

    /// <summary>Commits so far, the operations they held, and how many ran at <c>synchronous=FULL</c> (tests, benchmarks).</summary>
    internal (long Batches, long Operations, long Flushed) WriterStats => (_writer.Batches, _writer.Operations, _writer.FlushedBatches);

    internal bool IsWriterRunning => _writer.IsRunning && Volatile.Read(ref _disposed) == 0;

    /// <summary>Raised after a commit that made jobs of a queue runnable (enqueue, retry). Argument: the queue name.</summary>
    internal event Action<string>? JobsAvailable;

    /// <summary>Raised after a commit that cancelled a job. Argument: the job id.</summary>
    internal event Action<long>? JobCancelled;

    /// <summary>
    /// Opens (creating if missing) the queue file, checks it is a Ladder.Jobs database of a known schema version,
    /// migrates it, and rescues jobs whose lease expired.
    /// </summary>
    /// <param name="options">The options; validated, every failure listed.</param>
    /// <param name="timeProvider">The clock. Default: <see cref="TimeProvider.System"/>.</param>
    /// <param name="loggerFactory">Logging. Default: none.</param>
    /// <returns>The open queue.</returns>
    /// <exception cref="LadderJobsOptionsException">The options are invalid.</exception>
    /// <exception cref="JobStoreIncompatibleException">The file is not a Ladder.Jobs database or has a newer schema; it was not changed.</exception>
    /// <exception cref="JobStoreException">The file or its directory is missing or read-only.</exception>
    public static JobQueue Open(LadderJobsOptions options, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        // A copy, validated: the caller's object may change afterwards (a negative concurrency, a zero lease) without
        // ever reaching the queue unvalidated.
        options = options.Copy();
        options.ThrowIfInvalid();
        var connection = Schema.Open(options.Path, options.ShareExistingDatabase);
        var queue = new JobQueue(options, connection, timeProvider ?? TimeProvider.System, loggerFactory ?? NullLoggerFactory.Instance);
        Log.Opened(queue.Logger, queue.FullPath, Schema.Version, options.Synchronous);
        try
        {
            // Recovery on open: jobs left running by a process that died go back to their queue now, not at the
            // processor's first maintenance tick. The writer runs on the thread pool, so this wait cannot deadlock.
            queue.RescueExpiredAsync().GetAwaiter().GetResult();
        }
        catch
        {
            queue.DisposeAsync().AsTask().GetAwaiter().GetResult();
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
    /// <exception cref="JobStoreException">The file could not be written.</exception>
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
    /// <exception cref="JobStoreException">The file could not be written.</exception>
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

    /// <summary>Enqueues many jobs in one transaction (each in its own savepoint).</summary>
    /// <param name="requests">The jobs.</param>
    /// <param name="cancellationToken">Stops waiting; the enqueue may still commit.</param>
    /// <returns>One result per request, in order.</returns>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    /// <exception cref="ArgumentException">A request's options are invalid; nothing was enqueued.</exception>
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

        // Backpressure: a bounded number of enqueues wait for the writer. Claims, outcomes and heartbeats never wait
        // here (they are bounded by the processors' slots and prefetch), so a burst of producers cannot stall them.
        await _enqueueRoom.WaitAsync(cancellationToken).ConfigureAwait(false);
        Task<EnqueueResult[]> task;
        try
        {
            task = _writer.Run(
                session =>
                {
                    var now = Now();
                    var results = new EnqueueResult[requests.Count];
                    for (var i = 0; i < requests.Count; i++)
                    {
                        results[i] = Insert((sql, values) => session.Command(sql, values), requests[i], now, traceParent);
                    }

                    return results;
                },
                durable: true,
                results => AfterEnqueueCommitted(requests, results));
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
    /// <exception cref="ArgumentException">The transaction's connection is on another file.</exception>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    public JobTransaction Enlist(SqliteTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ThrowIfDisposed();
        var connection = transaction.Connection ?? throw new ArgumentException("The transaction has completed.", nameof(transaction));
        var dataSource = connection.DataSource;
        if (string.IsNullOrEmpty(dataSource) || !string.Equals(System.IO.Path.GetFullPath(dataSource), FullPath, StringComparison.Ordinal))
        {
            throw new ArgumentException($"The transaction is on '{dataSource}', not on the job queue's file '{FullPath}'. Transactional enqueue needs the same file.", nameof(transaction));
        }

        return new JobTransaction(this, transaction);
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

        if (o.Delay is { } d && d < TimeSpan.Zero)
        {
            throw new ArgumentException($"Delay must not be negative (was {d}).", nameof(request));
        }
    }

    internal EnqueueResult Insert(Func<string, object?[], SqliteCommand> command, JobRequest request, long now, string? traceParent)
    {
        var o = request.Options;
        var runAt = o.RunAt is { } at ? at.ToUnixTimeMilliseconds() : now + (long)(o.Delay ?? TimeSpan.Zero).TotalMilliseconds;
        var state = runAt > now ? JobState.Scheduled : JobState.Ready;
        var insert = command(Sql.Insert,
        [
            o.Queue ?? "default", request.Kind, request.PayloadJson, (int)state, o.Priority, runAt,
            o.MaxAttempts ?? Settings.DefaultMaxAttempts, o.Timeout is { } t && t != Timeout.InfiniteTimeSpan ? (long)t.TotalMilliseconds : null,
            o.UniqueKey, now, traceParent,
        ]);
        if (insert.ExecuteScalar() is long id)
        {
            return new EnqueueResult(id, Inserted: true);
        }

        // ON CONFLICT DO NOTHING: the unique key is taken; return the job that holds it.
        var existing = command(Sql.FindUnique, [request.Kind, o.UniqueKey]).ExecuteScalar();
        return new EnqueueResult((long)existing!, Inserted: false);
    }

    internal void AfterEnqueueCommitted(IReadOnlyList<JobRequest> requests, IReadOnlyList<EnqueueResult> results)
    {
        string? last = null;
        for (var i = 0; i < results.Count; i++)
        {
            if (!results[i].Inserted)
            {
                continue;
            }

            var queue = requests[i].Options.Queue ?? "default";
            JobsTelemetry.Enqueued.Add(1, JobsTelemetry.Queue(queue));
            if (!string.Equals(queue, last, StringComparison.Ordinal))
            {
                NotifyAvailable(queue);
                last = queue;
            }
        }
    }

    internal void NotifyAvailable(string queue) => JobsAvailable?.Invoke(queue);

    internal long Now() => Time.GetUtcNow().ToUnixTimeMilliseconds();

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    internal SqliteConnection OpenReader()
    {
        var connection = new SqliteConnection(_readConnectionString);
        connection.Open();
        Schema.Execute(connection, "PRAGMA busy_timeout = 5000;");
        return connection;
    }

    /// <summary>Stops accepting work, commits what is already queued for the writer, and closes the file. Harmless twice.</summary>
    /// <returns>A task that completes when the file is closed.</returns>
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
        await _writer.DisposeAsync().ConfigureAwait(false);
    }
}
