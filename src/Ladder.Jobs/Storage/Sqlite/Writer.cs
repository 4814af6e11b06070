using System.Threading.Channels;
using Ladder.Jobs.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Ladder.Jobs.Storage.Sqlite;

/// <summary>
/// The one writer of a process: a single reader of a channel of operations that commits them in batches
/// (group commit), one <c>BEGIN IMMEDIATE</c> transaction per batch and a savepoint per operation, so one bad
/// operation never rolls back its neighbours. Operations are acknowledged only after their batch commits.
/// </summary>
internal sealed class Writer : IAsyncDisposable
{
    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;
    private const int MaxBatchRetries = 5;

    private readonly Channel<WriteOp> _channel = Channel.CreateUnbounded<WriteOp>(new UnboundedChannelOptions { SingleReader = true });
    private readonly WriterSession _session;
    private readonly SqliteConnection _connection;
    private readonly SynchronousMode _mode;
    private readonly int _maxBatch;
    private readonly ILogger _logger;
    private readonly Task _loop;
    private readonly List<WriteOp> _batch = [];
    private bool? _syncFull; // Unknown until set: the connection's own default is FULL.
    private int _disposed;

    public Writer(SqliteConnection connection, SynchronousMode mode, int maxBatch, ILogger logger)
    {
        _connection = connection;
        _session = new WriterSession(connection);
        _mode = mode;
        _maxBatch = maxBatch;
        _logger = logger;
        SetSynchronous(full: _mode == SynchronousMode.Full);
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Batches committed (diagnostics and benchmarks).</summary>
    public long Batches { get; private set; }

    /// <summary>Operations committed (diagnostics and benchmarks).</summary>
    public long Operations { get; private set; }

    /// <summary>Batches committed with <c>synchronous=FULL</c> in effect, i.e. flushed before acknowledged (tests).</summary>
    public long FlushedBatches { get; private set; }

    /// <summary>Whether the loop is still running (for the health check).</summary>
    public bool IsRunning => !_loop.IsCompleted;

    /// <summary>Queues an operation; its task completes after the batch holding it commits.</summary>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    public Task<T> Enqueue<T>(WriteOp<T> op)
    {
        Enqueue((WriteOp)op);
        return op.Task;
    }

    /// <summary>Queues an operation that publishes its own completion.</summary>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    public void Enqueue(WriteOp op)
    {
        if (!_channel.Writer.TryWrite(op))
        {
            throw new ObjectDisposedException(nameof(JobQueue), "The job queue has been disposed.");
        }
    }

    public Task<T> Run<T>(Func<WriterSession, T> execute, bool durable, Action<T>? onCommitted = null, bool singleStatement = false) =>
        Enqueue(new WriteOp<T>(execute, durable, onCommitted) { SingleStatement = singleStatement });

    private async Task LoopAsync()
    {
        var reader = _channel.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            _batch.Clear();
            while (_batch.Count < _maxBatch && reader.TryRead(out var op))
            {
                _batch.Add(op);
            }

            await CommitBatchAsync(_batch).ConfigureAwait(false);
        }
    }

    private async Task CommitBatchAsync(List<WriteOp> batch)
    {
        var durable = false;
        foreach (var op in batch)
        {
            durable |= op.Durable;
        }

        for (var attempt = 1; ; attempt++)
        {
            var failed = new Exception?[batch.Count];
            try
            {
                // Claims and heartbeats alone need not reach the disk: if they are lost, the job is simply ready again.
                // The WAL is append-only, so a later durable commit flushes them too, in order.
                SetSynchronous(full: _mode == SynchronousMode.Full && durable);
                _session.Execute("BEGIN IMMEDIATE;");
                for (var i = 0; i < batch.Count; i++)
                {
                    if (batch[i].SingleStatement)
                    {
                        try
                        {
                            batch[i].Execute(_session);
                        }
                        catch (Exception e) when (!IsBatchFatal(e))
                        {
                            failed[i] = e;
                        }

                        continue;
                    }

                    _session.Execute("SAVEPOINT op;");
                    try
                    {
                        batch[i].Execute(_session);
                        _session.Execute("RELEASE op;");
                    }
                    catch (Exception e) when (!IsBatchFatal(e))
                    {
                        _session.Execute("ROLLBACK TO op;");
                        _session.Execute("RELEASE op;");
                        failed[i] = e;
                    }
                }

                _session.Execute("COMMIT;");
            }
            catch (Exception e)
            {
                TryRollback();
                if (IsBusy(e) && attempt < MaxBatchRetries)
                {
                    // Another process held the write lock past the connection's wait (busy_timeout, retried by
                    // Microsoft.Data.Sqlite up to its 60 s command timeout): wait a little and run the whole batch again.
                    // Real time, like those waits: the lock is another process's, not the queue's
                    // clock's, and a test on a FakeTimeProvider must not hang here until someone moves the clock.
                    Log.WriterBusy(_logger, attempt, e.Message);
                    await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt), TimeProvider.System).ConfigureAwait(false);
                    continue;
                }

                Log.WriterBatchFailed(_logger, batch.Count, e);
                var error = e is SqliteException ? new JobStoreException(_connection.DataSource, $"The job queue could not commit: {e.Message}", e) : e;
                foreach (var op in batch)
                {
                    op.Failed(error);
                }

                return;
            }

            Batches++;
            Operations += batch.Count;
            if (_syncFull == true)
            {
                FlushedBatches++;
            }

            // Acknowledge only after the commit: at-least-once checkpoint for every operation in the batch.
            for (var i = 0; i < batch.Count; i++)
            {
                if (failed[i] is { } error)
                {
                    batch[i].Failed(error);
                }
                else
                {
                    try
                    {
                        batch[i].Committed();
                    }
                    catch (Exception e)
                    {
                        Log.CommitCallbackFailed(_logger, e);
                    }
                }
            }

            return;
        }
    }

    private void SetSynchronous(bool full)
    {
        if (full != _syncFull)
        {
            _session.Execute(full ? "PRAGMA synchronous = FULL;" : "PRAGMA synchronous = NORMAL;");
            _syncFull = full;
        }
    }

    private void TryRollback()
    {
        try
        {
            if (!_connection.State.Equals(System.Data.ConnectionState.Open))
            {
                return;
            }

            _session.Execute("ROLLBACK;");
        }
        catch (SqliteException)
        {
            // No transaction was open (BEGIN failed): nothing to roll back.
        }
    }

    private static bool IsBusy(Exception e) => e is SqliteException { SqliteErrorCode: SqliteBusy or SqliteLocked };

    // Errors of the connection or the file abort the whole batch; anything else is the operation's own.
    // NOMEM and INTERRUPT may roll back the whole transaction (sqlite.org/lang_transaction.html), not just the
    // statement: the ops before the failed one would be reported committed while they were not.
    private static bool IsBatchFatal(Exception e) =>
        e is SqliteException { SqliteErrorCode: SqliteBusy or SqliteLocked or 10 /* IOERR */ or 13 /* FULL */ or 11 /* CORRUPT */ or 8 /* READONLY */ or 7 /* NOMEM */ or 9 /* INTERRUPT */ };

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Drain: operations already queued still commit before the connection closes.
        _channel.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        _session.Dispose();
        await _connection.DisposeAsync().ConfigureAwait(false);
    }
}
