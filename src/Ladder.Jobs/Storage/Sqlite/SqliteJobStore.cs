using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Ladder.Jobs.Storage.Sqlite;

/// <summary>
/// The SQLite store: one file in WAL mode, one writer connection per process that commits operations in groups
/// (<see cref="Writer"/>), readers on their own connections. Its clock is the queue's <see cref="TimeProvider"/>
/// (<see cref="JobStoreContext.Time"/>), read on the writer thread for every time it writes.
/// </summary>
internal sealed partial class SqliteJobStore : JobStore
{
    private readonly string _path;
    private readonly SynchronousMode _synchronous;
    private readonly bool _shareExisting;
    private readonly string _readConnectionString;
    private Writer? _writerOrNull;
    private CoalescedWrites _completions = null!;
    private CoalescedWrites _startMarks = null!;
    private TimeProvider _time = TimeProvider.System;
    private int _opening;
    private int _disposed;

    /// <summary>Creates the store of a file; nothing is opened before <see cref="OpenAsync"/>.</summary>
    /// <param name="path">The SQLite file. Created if missing; its directory must exist.</param>
    /// <param name="synchronous">Durability of commits.</param>
    /// <param name="shareExisting">Whether a SQLite file holding other tables but no Ladder schema yet may be opened.</param>
    public SqliteJobStore(string path, SynchronousMode synchronous = SynchronousMode.Full, bool shareExisting = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        _path = path;
        _synchronous = synchronous;
        _shareExisting = shareExisting;
        FullPath = System.IO.Path.GetFullPath(path);
        _readConnectionString = Schema.ConnectionString(path);
    }

    /// <summary>The store of the SQLite settings of <paramref name="options"/> (<see cref="LadderJobsOptions.Path"/> and its neighbours).</summary>
    public static SqliteJobStore For(LadderJobsOptions options) => new(options.Path, options.Synchronous, options.ShareExistingDatabase);

    /// <summary>The file's full path.</summary>
    public string FullPath { get; }

    public SynchronousMode Synchronous => _synchronous;

    public override string Location => FullPath;

    public override long SchemaVersion => Schema.Version;

    public override bool IsAvailable => _writerOrNull is { IsRunning: true } && Volatile.Read(ref _disposed) == 0;

    // Set once OpenAsync succeeded; the queue calls nothing else before.
    private Writer OpenWriter => _writerOrNull!;

    /// <summary>Commits so far, the operations they held, and how many ran at <c>synchronous=FULL</c> (tests, benchmarks).</summary>
    public (long Batches, long Operations, long Flushed) WriterStats => (OpenWriter.Batches, OpenWriter.Operations, OpenWriter.FlushedBatches);

    public override Task OpenAsync(JobStoreContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Interlocked.Exchange(ref _opening, 1) != 0)
        {
            throw new InvalidOperationException($"The job store at {FullPath} is already open.");
        }

        _time = context.Time;
        var connection = Schema.Open(_path, _shareExisting);
        // The queue's category, as before the store was a type of its own: log filters keep working.
        var writer = new Writer(connection, _synchronous, context.Options.MaxBatchSize, context.LoggerFactory.CreateLogger<JobQueue>());
        _startMarks = new CoalescedWrites(writer, Sql.MarkStarted, durable: false, returnsIds: false);
        _completions = new CoalescedWrites(writer, Sql.Complete, durable: true, returnsIds: true, Now);
        Volatile.Write(ref _writerOrNull, writer);
        return Task.CompletedTask;
    }

    public override Task<IReadOnlyList<EnqueueResult>> EnqueueAsync(IReadOnlyList<NewJob> jobs, CancellationToken cancellationToken) =>
        EnqueueAsync(jobs, onCommitted: null);

    /// <summary>
    /// <see cref="EnqueueAsync(IReadOnlyList{NewJob}, CancellationToken)"/> with a callback run on the writer thread as
    /// the insert commits: the queue wakes its processors from there, one thread-pool hop sooner than after the task.
    /// </summary>
    public Task<IReadOnlyList<EnqueueResult>> EnqueueAsync(IReadOnlyList<NewJob> jobs, Action<IReadOnlyList<EnqueueResult>>? onCommitted)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        return OpenWriter.Run<IReadOnlyList<EnqueueResult>>(
            session =>
            {
                var now = Now();
                var results = new EnqueueResult[jobs.Count];
                for (var i = 0; i < jobs.Count; i++)
                {
                    results[i] = Insert((sql, values) => session.Command(sql, values), jobs[i], now);
                }

                return results;
            },
            durable: true,
            onCommitted);
    }

    /// <summary>Inserts one job with the given command factory (the writer's session, or a caller's transaction).</summary>
    internal static EnqueueResult Insert(Func<string, object?[], SqliteCommand> command, NewJob job, long now)
    {
        var runAt = job.RunAt is { } at ? at.ToUnixTimeMilliseconds() : now + (long)job.Delay.TotalMilliseconds;
        var state = runAt > now ? JobState.Scheduled : JobState.Ready;
        var insert = command(Sql.Insert,
        [
            job.Queue, job.Kind, job.PayloadJson, (int)state, job.Priority, runAt, job.MaxAttempts,
            job.Timeout is { } t ? (long)t.TotalMilliseconds : null, job.UniqueKey, now, job.TraceParent, job.ConcurrencyKey,
            job.ConcurrencyKey is null ? 0 : Math.Max(1, job.ConcurrencyLimit),
        ]);
        if (insert.ExecuteScalar() is long id)
        {
            return new EnqueueResult(id, Inserted: true);
        }

        // ON CONFLICT DO NOTHING: the unique key is taken; return the job that holds it.
        var existing = command(Sql.FindUnique, [job.Kind, job.UniqueKey]).ExecuteScalar();
        return new EnqueueResult((long)existing!, Inserted: false);
    }

    /// <summary>Enlists a caller's transaction on this file.</summary>
    /// <exception cref="ArgumentException">The transaction has completed or is on another file.</exception>
    public JobEnlistment Enlist(SqliteTransaction transaction)
    {
        var connection = transaction.Connection ?? throw new ArgumentException("The transaction has completed.", nameof(transaction));
        var dataSource = connection.DataSource;
        if (string.IsNullOrEmpty(dataSource) || !string.Equals(System.IO.Path.GetFullPath(dataSource), FullPath, StringComparison.Ordinal))
        {
            throw new ArgumentException($"The transaction is on '{dataSource}', not on the job queue's file '{FullPath}'. Transactional enqueue needs the same file.", nameof(transaction));
        }

        return new SqliteEnlistment(transaction, this);
    }

    /// <summary>Reads a pragma on the writer connection, inside a batch of the given durability (tests).</summary>
    public Task<long> ReadWriterPragmaAsync(string name, bool durable = true) =>
        OpenWriter.Run(session => (long)session.Command($"PRAGMA {name};").ExecuteScalar()!, durable);

    /// <summary>The store's clock, in Unix milliseconds: the queue's <see cref="TimeProvider"/>.</summary>
    internal long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private SqliteConnection OpenReader()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var connection = new SqliteConnection(_readConnectionString);
        connection.Open();
        Schema.Execute(connection, "PRAGMA busy_timeout = 5000;");
        return connection;
    }

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0 || Volatile.Read(ref _writerOrNull) is not { } writer)
        {
            return; // Disposed before, or never opened (Schema.Open refused the file and closed its connection).
        }

        // Drains: operations already queued for the writer still commit before the file closes.
        await writer.DisposeAsync().ConfigureAwait(false);
    }
}
