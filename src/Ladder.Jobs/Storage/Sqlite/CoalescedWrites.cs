using System.Globalization;
using System.Text;

namespace Ladder.Jobs.Storage.Sqlite;

/// <summary>
/// One kind of per-job write, coalesced: every job added while an operation waits in the writer's channel rides on
/// that one operation, which writes them all with one statement over a JSON array of <c>[id, lease token]</c> pairs
/// (<c>@p0</c>; <c>@p1</c> is the time, for statements given a clock). One statement needs no savepoint: SQLite undoes a
/// failed statement by itself. An operation whose jobs were all removed before the writer took it writes nothing.
/// </summary>
/// <remarks>
/// Used for the start marks of jobs claimed ahead (not durable, removable: a finished handler's outcome says more) and
/// for completions (durable; the statement returns the ids it changed, so each job learns whether its lease held).
/// </remarks>
internal sealed class CoalescedWrites(Writer writer, string sql, bool durable, bool returnsIds, Func<long>? clock = null)
{
    private readonly Lock _lock = new();
    private readonly string _sql = sql;
    private readonly bool _durable = durable;
    private readonly bool _returnsIds = returnsIds;
    private readonly Func<long>? _clock = clock;

    // Queued and not yet taken by the writer, oldest first; the newest takes new jobs. Usually one.
    private readonly List<Op> _waiting = [];

    /// <summary>Adds a job to the operation waiting in the writer's channel (queuing one if none waits).</summary>
    /// <returns>The operation: its task completes once the write is committed (or fails with the commit's error).</returns>
    /// <exception cref="ObjectDisposedException">The queue was disposed.</exception>
    public Op Add(long id, long leaseToken)
    {
        lock (_lock)
        {
            var op = _waiting.Count > 0 ? _waiting[^1] : null;
            if (op is null || op.Holds(id))
            {
                // A second run of a job already in the operation (an old run whose lease was lost, and its new run)
                // goes into an operation of its own: one statement cannot tell the two apart by what it returns.
                op = new Op(this);
                writer.Enqueue(op);
                _waiting.Add(op);
            }

            op.Hold(id, leaseToken);
            return op;
        }
    }

    /// <summary>Takes a job off the operation waiting with it, if the writer has not taken that operation yet.</summary>
    public void Remove(long id, long leaseToken)
    {
        lock (_lock)
        {
            foreach (var op in _waiting)
            {
                if (op.Release(id, leaseToken))
                {
                    return;
                }
            }
        }
    }

    private List<(long Id, long LeaseToken)> Take(Op op)
    {
        lock (_lock)
        {
            _waiting.Remove(op);
            return op.Pending;
        }
    }

    /// <summary>One write of the jobs added while it waited.</summary>
    internal sealed class Op : WriteOp
    {
        private readonly CoalescedWrites _owner;
        private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly HashSet<long> _ids = [];
        private readonly HashSet<long> _written = [];
        private List<(long Id, long LeaseToken)>? _taken;

        public Op(CoalescedWrites owner)
        {
            _owner = owner;
            SingleStatement = true;
        }

        public Task Task => _completion.Task;

        public override bool Durable => _owner._durable;

        // Guarded by the owner's lock until the writer takes the operation; never changed after.
        internal List<(long Id, long LeaseToken)> Pending { get; } = [];

        /// <summary>Whether the statement changed the job's row (its lease held). Read after <see cref="Task"/> completes.</summary>
        public bool Wrote(long id) => _written.Contains(id);

        internal bool Holds(long id) => _ids.Contains(id);

        internal void Hold(long id, long leaseToken)
        {
            _ids.Add(id);
            Pending.Add((id, leaseToken));
        }

        internal bool Release(long id, long leaseToken)
        {
            var i = Pending.LastIndexOf((id, leaseToken));
            if (i < 0)
            {
                return false;
            }

            Pending.RemoveAt(i);
            _ids.Remove(id);
            return true;
        }

        public override void Execute(WriterSession session)
        {
            // Taken once: a batch retried after SQLITE_BUSY runs this again over the same jobs.
            _taken ??= _owner.Take(this);
            _written.Clear();
            if (_taken.Count == 0)
            {
                return;
            }

            var pairs = new StringBuilder("[", 2 + (_taken.Count * 40));
            foreach (var (id, leaseToken) in _taken)
            {
                pairs.Append(pairs.Length == 1 ? "[" : ",[").Append(id.ToString(CultureInfo.InvariantCulture)).Append(',')
                    .Append(leaseToken.ToString(CultureInfo.InvariantCulture)).Append(']');
            }

            var json = pairs.Append(']').ToString();
            var command = _owner._clock is { } clock ? session.Command(_owner._sql, json, clock()) : session.Command(_owner._sql, json);
            if (!_owner._returnsIds)
            {
                command.ExecuteNonQuery();
                return;
            }

            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                _written.Add(reader.GetInt64(0));
            }
        }

        public override void Committed() => _completion.TrySetResult();

        public override void Failed(Exception error)
        {
            // Never executed (the batch failed before it ran): later jobs must not wait on this operation.
            _taken ??= _owner.Take(this);
            _completion.TrySetException(error);
        }
    }
}
