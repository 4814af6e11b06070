using System.Diagnostics;
using Ladder.Jobs.Storage;

namespace Ladder.Jobs;

/// <summary>
/// Jobs enqueued inside a caller's own transaction (a SQLite transaction on the queue's file, or a transaction its store
/// enlisted as a <see cref="JobEnlistment"/>): they commit or vanish with the caller's writes. Commit through
/// <see cref="Commit"/> (not the transaction directly) so processors wake right after the commit; disposing without
/// committing wakes nobody and leaves the caller's transaction to the caller.
/// </summary>
public sealed class JobTransaction : IDisposable
{
    private readonly JobQueue _queue;
    private readonly JobEnlistment _enlistment;
    private readonly List<(NewJob Job, EnqueueResult Result)> _enqueued = [];
    private bool _completed;

    internal JobTransaction(JobQueue queue, JobEnlistment enlistment)
    {
        _queue = queue;
        _enlistment = enlistment;
    }

    /// <summary>Enqueues a job in the caller's transaction. Visible to processors only after <see cref="Commit"/>.</summary>
    /// <param name="request">The job.</param>
    /// <returns>The job id (valid once committed), and whether it was inserted or an existing job holds the unique key.</returns>
    /// <exception cref="ObjectDisposedException">The enlistment was already committed or disposed.</exception>
    /// <exception cref="InvalidOperationException">The caller's transaction has already completed.</exception>
    /// <exception cref="ArgumentException">The request's options are invalid.</exception>
    public EnqueueResult Enqueue(JobRequest request)
    {
        var job = Prepare(request);
        var result = _enlistment.Insert(job);
        _enqueued.Add((job, result));
        return result;
    }

    /// <summary>Enqueues a job in the caller's transaction, asynchronously (a server store's round trip). Visible to processors only after <see cref="CommitAsync"/>.</summary>
    /// <param name="request">The job.</param>
    /// <param name="cancellationToken">Cancels the insert.</param>
    /// <returns>The job id (valid once committed), and whether it was inserted or an existing job holds the unique key.</returns>
    /// <exception cref="ObjectDisposedException">The enlistment was already committed or disposed.</exception>
    /// <exception cref="InvalidOperationException">The caller's transaction has already completed.</exception>
    /// <exception cref="ArgumentException">The request's options are invalid.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<EnqueueResult> EnqueueAsync(JobRequest request, CancellationToken cancellationToken = default)
    {
        var job = Prepare(request);
        var result = await _enlistment.InsertAsync(job, cancellationToken).ConfigureAwait(false);
        _enqueued.Add((job, result));
        return result;
    }

    /// <summary>Enqueues a typed job in the caller's transaction.</summary>
    /// <typeparam name="TArgs">The argument type.</typeparam>
    /// <param name="args">The arguments.</param>
    /// <param name="options">Per-job options.</param>
    /// <returns>The job id, and whether it was inserted.</returns>
    public EnqueueResult Enqueue<TArgs>(TArgs args, JobOptions? options = null) => Enqueue(JobRequest.For(args, options));

    private NewJob Prepare(JobRequest request)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        JobQueue.ValidateRequest(request);
        return _queue.ToNewJob(request, Activity.Current?.Id);
    }

    /// <summary>Commits the caller's transaction, then wakes the processors of the enqueued jobs' queues.</summary>
    /// <exception cref="ObjectDisposedException">Already committed or disposed.</exception>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        _enlistment.Commit();
        Committed();
    }

    /// <summary>Commits the caller's transaction, then wakes the processors of the enqueued jobs' queues.</summary>
    /// <param name="cancellationToken">Cancels the commit.</param>
    /// <returns>A task that completes after the commit.</returns>
    /// <exception cref="ObjectDisposedException">Already committed or disposed.</exception>
    public async Task CommitAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        await _enlistment.CommitAsync(cancellationToken).ConfigureAwait(false);
        Committed();
    }

    private void Committed()
    {
        _completed = true;
        var jobs = new NewJob[_enqueued.Count];
        var results = new EnqueueResult[_enqueued.Count];
        for (var i = 0; i < _enqueued.Count; i++)
        {
            (jobs[i], results[i]) = _enqueued[i];
        }

        // After the commit, never before: a wake-up for a job that could still roll back would find nothing.
        _queue.AfterEnqueueCommitted(jobs, results);
    }

    /// <summary>Ends the enlistment. Without a commit, nobody is woken; the caller's transaction is left to the caller.</summary>
    public void Dispose() => _completed = true;
}
