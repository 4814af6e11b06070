using System.Diagnostics;
using Microsoft.Data.Sqlite;

namespace Ladder.Jobs;

/// <summary>
/// Jobs enqueued inside a caller's own SQLite transaction: they commit or vanish with the caller's writes.
/// Commit through <see cref="Commit"/> (not the transaction directly) so processors wake right after the commit;
/// disposing without committing wakes nobody and leaves the caller's transaction to the caller.
/// </summary>
public sealed class JobTransaction : IDisposable
{
    private readonly JobQueue _queue;
    private readonly SqliteTransaction _transaction;
    private readonly List<(JobRequest Request, EnqueueResult Result)> _enqueued = [];
    private bool _completed;

    internal JobTransaction(JobQueue queue, SqliteTransaction transaction)
    {
        _queue = queue;
        _transaction = transaction;
    }

    /// <summary>Enqueues a job in the caller's transaction. Visible to processors only after <see cref="Commit"/>.</summary>
    /// <param name="request">The job.</param>
    /// <returns>The job id (valid once committed), and whether it was inserted or an existing job holds the unique key.</returns>
    /// <exception cref="InvalidOperationException">The enlistment was already committed or disposed.</exception>
    /// <exception cref="ArgumentException">The request's options are invalid.</exception>
    public EnqueueResult Enqueue(JobRequest request)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        JobQueue.ValidateRequest(request);
        var connection = _transaction.Connection ?? throw new InvalidOperationException("The transaction has already completed.");
        var commands = new List<SqliteCommand>(2);
        try
        {
            var result = _queue.Insert(
            (sql, values) =>
            {
                var command = connection.CreateCommand();
                commands.Add(command);
                command.Transaction = _transaction;
                command.CommandText = sql;
                for (var i = 0; i < values.Length; i++)
                {
                    command.Parameters.AddWithValue("@p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), values[i] ?? DBNull.Value);
                }

                return command;
            },
            request,
            _queue.Now(),
            Activity.Current?.Id);
            _enqueued.Add((request, result));
            return result;
        }
        finally
        {
            foreach (var command in commands)
            {
                command.Dispose();
            }
        }
    }

    /// <summary>Enqueues a typed job in the caller's transaction.</summary>
    /// <typeparam name="TArgs">The argument type.</typeparam>
    /// <param name="args">The arguments.</param>
    /// <param name="options">Per-job options.</param>
    /// <returns>The job id, and whether it was inserted.</returns>
    public EnqueueResult Enqueue<TArgs>(TArgs args, JobOptions? options = null) => Enqueue(JobRequest.For(args, options));

    /// <summary>Commits the caller's transaction, then wakes the processors of the enqueued jobs' queues.</summary>
    /// <exception cref="InvalidOperationException">Already committed or disposed.</exception>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        _transaction.Commit();
        Committed();
    }

    /// <summary>Commits the caller's transaction, then wakes the processors of the enqueued jobs' queues.</summary>
    /// <param name="cancellationToken">Cancels the commit.</param>
    /// <returns>A task that completes after the commit.</returns>
    public async Task CommitAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        await _transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        Committed();
    }

    private void Committed()
    {
        _completed = true;
        var requests = new JobRequest[_enqueued.Count];
        var results = new EnqueueResult[_enqueued.Count];
        for (var i = 0; i < _enqueued.Count; i++)
        {
            (requests[i], results[i]) = _enqueued[i];
        }

        // After the commit, never before: a wake-up for a job that could still roll back would find nothing.
        _queue.AfterEnqueueCommitted(requests, results);
    }

    /// <summary>Ends the enlistment. Without a commit, nobody is woken; the caller's transaction is left to the caller.</summary>
    public void Dispose() => _completed = true;
}
