namespace Ladder.Jobs.Storage;

/// <summary>
/// Records that the handlers of jobs claimed ahead (prefetch) have started, so that a crash counts as a rescue only
/// for the jobs that were really running. Marks are coalesced: every job that starts while a mark operation waits in
/// the writer's channel rides on that one operation, and a job whose handler finishes before the operation runs is
/// taken off it (its outcome supersedes the mark). An idle queue writes nothing.
/// </summary>
/// <remarks>
/// A mark is not awaited, so a process that dies within a commit of a handler's start may leave that run unmarked
/// and uncounted. The job is then rescued as not started and remembered as such; the next time it runs from the
/// prefetch, its handler waits for its mark to commit (<see cref="Mark"/> returns the commit). A job that kills its
/// process at once therefore escapes counting once at most, and is dead as poison after <c>MaxRescues + 1</c> more
/// kills at most.
/// </remarks>
internal sealed class StartMarks(Writer writer)
{
    private readonly Lock _lock = new();
    private List<(long Id, long LeaseToken)> _pending = [];
    private MarkOp? _queued;

    /// <summary>Queues the mark of a claimed-ahead job whose handler is about to run.</summary>
    /// <returns>Completes once the mark is committed (or fails with the commit's error).</returns>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    public Task Mark(long id, long leaseToken)
    {
        lock (_lock)
        {
            if (_queued is null)
            {
                var op = new MarkOp(this) { SingleStatement = true };
                writer.Enqueue(op);
                _queued = op;
            }

            _pending.Add((id, leaseToken));
            return _queued.Task;
        }
    }

    /// <summary>The handler has finished: its outcome will say more than the mark, so drop the mark if it is still waiting.</summary>
    public void Unmark(long id, long leaseToken)
    {
        lock (_lock)
        {
            var pending = _pending;
            for (var i = pending.Count - 1; i >= 0; i--)
            {
                if (pending[i] == (id, leaseToken))
                {
                    pending.RemoveAt(i);
                    return;
                }
            }
        }
    }

    private List<(long Id, long LeaseToken)> Take()
    {
        lock (_lock)
        {
            var taken = _pending;
            _pending = [];
            _queued = null;
            return taken;
        }
    }

    // One statement for all its marks, so it needs no savepoint (SQLite undoes a failed statement by itself); an
    // operation left with no marks (every handler finished first) executes nothing.
    private sealed class MarkOp(StartMarks owner) : WriteOp
    {
        private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private List<(long Id, long LeaseToken)>? _taken;

        public Task Task => _completion.Task;

        // A process crash loses nothing committed at synchronous=NORMAL; a power loss may lose the mark, and then the
        // run is simply not counted.
        public override bool Durable => false;

        public override void Execute(WriterSession session)
        {
            // Taken once: a batch retried after SQLITE_BUSY runs this again over the same marks.
            _taken ??= owner.Take();
            if (_taken.Count == 0)
            {
                return;
            }

            var pairs = new System.Text.StringBuilder("[");
            foreach (var (id, leaseToken) in _taken)
            {
                pairs.Append(pairs.Length == 1 ? "[" : ",[").Append(id).Append(',').Append(leaseToken).Append(']');
            }

            session.Execute(Sql.MarkStarted, pairs.Append(']').ToString());
        }

        public override void Committed() => _completion.TrySetResult();

        public override void Failed(Exception error)
        {
            // Never executed (the batch failed before it ran): later marks must not wait on this one.
            _taken ??= owner.Take();
            _completion.TrySetException(error);
        }
    }
}
