using Ladder.Jobs.PostgreSql.Internal;
using Ladder.Jobs.Storage;
using Npgsql;
using NpgsqlTypes;

namespace Ladder.Jobs;

/// <summary>Writes that survive a lost connection: retried with backoff while the lease may still hold, never applied twice.</summary>
public sealed partial class PostgresJobStore
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(2);

    // The wait between attempts of a heartbeat or a rescue is at most the lease divided by this.
    private const int LeaseRaceDivisor = 20;

    /// <summary>
    /// Runs a write; a transient failure (connection lost, server restarting, a backend terminated) is retried with
    /// backoff for up to <see cref="PostgresJobStoreOptions.TransientRetryLimit"/>. Only compare-and-set writes come
    /// here: a retry of a write that did commit matches nothing, and <paramref name="attempt"/> is told it retries so
    /// it can report "already applied by this run" (<c>Sql</c>'s lease-token rule) rather than "lease lost".
    /// </summary>
    /// <param name="what">The write, for the log.</param>
    /// <param name="attempt">Runs the write once; told whether it is a retry.</param>
    /// <param name="lease">
    /// For a write that races a lease (a heartbeat, the rescue that extends the leases held): the lease, so the wait
    /// between attempts is at most 1/20 of it. Other writes wait up to <see cref="MaxRetryDelay"/>.
    /// </param>
    internal async Task<T> RetryingAsync<T>(string what, Func<bool, Task<T>> attempt, TimeSpan? lease = null)
    {
        // Issue #10: a heartbeat that waited 2 s after the server came back landed a third of a 6 s lease late, after
        // another host's rescue had taken the live job. A lease's writes retry at least every 1/20 of it (never in a
        // hot loop: at least 1 ms apart), so one lands soon after the server is back.
        var maxDelay = lease is { } l ? TimeSpan.FromTicks(Math.Clamp(l.Ticks / LeaseRaceDivisor, TimeSpan.TicksPerMillisecond, MaxRetryDelay.Ticks)) : MaxRetryDelay;

        // Real time, not the queue's clock: the server comes back in real time, and a test's fake clock must not hang here.
        var started = TimeProvider.System.GetTimestamp();
        var retried = false;
        for (var n = 1; ; n++)
        {
            try
            {
                return await attempt(retried).ConfigureAwait(false);
            }
            catch (Exception e) when (IsTransient(e))
            {
                var elapsed = TimeProvider.System.GetElapsedTime(started);
                if (elapsed >= _retryLimit || _closing.IsCancellationRequested)
                {
                    Log.WriteGaveUp(_logger, e, what, elapsed);
                    throw Classify(e, "write " + what + " to");
                }

                // A server restart or a terminated backend breaks every idle connection of the pool at once: drop them
                // instead of failing on each in turn. A deadlock or serialization failure leaves them sound.
                if (e is not PostgresException { SqlState: PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected })
                {
                    _dataSource.Clear();
                }

                retried = true;
                var delay = TimeSpan.FromTicks(Math.Min(maxDelay.Ticks, FirstRetryDelay.Ticks << Math.Min(n - 1, 10)));
                Log.WriteRetrying(_logger, e, what, delay, n);
                try
                {
                    await Task.Delay(delay, TimeProvider.System, _closing.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    throw Classify(e, "write " + what + " to");
                }
            }
            catch (NpgsqlException e)
            {
                throw Classify(e, "write " + what + " to");
            }
        }
    }

    /// <summary>Runs a read or a write that is not retried; errors of the server become store errors.</summary>
    internal async Task<T> OnceAsync<T>(string what, Func<Task<T>> run)
    {
        try
        {
            return await run().ConfigureAwait(false);
        }
        catch (NpgsqlException e)
        {
            throw Classify(e, what + " in");
        }
    }

    // Serialization failures and deadlocks named here, whatever Npgsql's IsTransient says: the statement was rolled
    // back whole, so running it again (as "retried", by its lease tokens) is always right.
    internal static bool IsTransient(Exception e) => e switch
    {
        PostgresException p => p.IsTransient || p.SqlState is PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected || p.SqlState.StartsWith("08", StringComparison.Ordinal) || p.SqlState.StartsWith("57P0", StringComparison.Ordinal),
        NpgsqlException n => n.IsTransient || n.InnerException is IOException or System.Net.Sockets.SocketException || n.Message.Contains("broken", StringComparison.OrdinalIgnoreCase),
        _ => false,
    };

    /// <summary>Completes runs in one statement (the completion batcher's write; tests call it to replay a retry).</summary>
    internal Task<HashSet<JobLease>> WriteCompletionsAsync(IReadOnlyList<JobLease> leases, bool retried) =>
        WriteLeasesAsync(retried ? _sql.CompleteRetried : _sql.Complete, leases);

    // One statement over the runs of a batch: returns the (id, token) pairs it matched.
    private async Task<HashSet<JobLease>> WriteLeasesAsync(string sql, IReadOnlyList<JobLease> leases)
    {
        var ids = new long[leases.Count];
        var tokens = new long[leases.Count];
        for (var i = 0; i < leases.Count; i++)
        {
            ids[i] = leases[i].JobId;
            tokens[i] = leases[i].Token;
        }

        await using var connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
        await using var command = Command(sql, connection);
        command.Parameters.Add(P("id", ids, NpgsqlDbType.Array | NpgsqlDbType.Bigint));
        command.Parameters.Add(P("token", tokens, NpgsqlDbType.Array | NpgsqlDbType.Bigint));
        await PrepareAsync(command).ConfigureAwait(false);
        var written = new HashSet<JobLease>();
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        while (await reader.ReadAsync().ConfigureAwait(false))
        {
            written.Add(new JobLease(reader.GetInt64(0), reader.GetInt64(1)));
        }

        return written;
    }

    /// <summary>
    /// Coalesces one kind of per-run write (completions, start marks): every run added while a statement is in flight
    /// rides on the next one, one statement for the lot (group commit, as River's batch completer). A single loop
    /// writes, so a batch never races another of its kind.
    /// </summary>
    internal sealed class LeaseBatcher : IAsyncDisposable
    {
        private readonly PostgresJobStore _store;
        private readonly string _what;
        private readonly int _max;
        private readonly Func<IReadOnlyList<JobLease>, bool, Task<HashSet<JobLease>>> _write;
        private readonly Lock _lock = new();
        private readonly SemaphoreSlim _signal = new(0);
        private readonly List<(JobLease Lease, TaskCompletionSource<bool> Done)> _pending = [];
        private readonly Task _loop;
        private bool _idle;
        private bool _closed;
        private long _statements;

        public LeaseBatcher(PostgresJobStore store, string what, int max, Func<IReadOnlyList<JobLease>, bool, Task<HashSet<JobLease>>> write)
        {
            _store = store;
            _what = what;
            _max = max;
            _write = write;
            _loop = Task.Run(LoopAsync);
        }

        /// <summary>Statements written so far (tests and diagnostics).</summary>
        public long Statements => Interlocked.Read(ref _statements);

        /// <summary>Adds a run; the task says whether the statement matched it (its lease held), once committed.</summary>
        /// <exception cref="ObjectDisposedException">The store was disposed.</exception>
        public Task<bool> Add(JobLease lease)
        {
            var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_closed, _store);
                _pending.Add((lease, done));
                if (_idle)
                {
                    _idle = false;
                    _signal.Release();
                }
            }

            return done.Task;
        }

        /// <summary>Takes a run back if no statement has taken it yet; its task completes with false.</summary>
        public void Withdraw(JobLease lease)
        {
            TaskCompletionSource<bool>? done = null;
            lock (_lock)
            {
                var i = _pending.FindIndex(p => p.Lease == lease);
                if (i >= 0)
                {
                    done = _pending[i].Done;
                    _pending.RemoveAt(i);
                }
            }

            done?.TrySetResult(false);
        }

        // Never throws: a failed statement fails the tasks of its batch.
        private async Task LoopAsync()
        {
            var batch = new List<(JobLease Lease, TaskCompletionSource<bool> Done)>();
            while (true)
            {
                batch.Clear();
                lock (_lock)
                {
                    var take = Math.Min(_max, _pending.Count);
                    batch.AddRange(_pending.GetRange(0, take));
                    _pending.RemoveRange(0, take);
                    if (take == 0)
                    {
                        if (_closed)
                        {
                            return;
                        }

                        _idle = true;
                    }
                }

                if (batch.Count == 0)
                {
                    await _signal.WaitAsync().ConfigureAwait(false);
                    continue;
                }

                try
                {
                    var leases = batch.ConvertAll(static p => p.Lease);
                    var written = await _store.RetryingAsync(_what, retried => _write(leases, retried)).ConfigureAwait(false);
                    Interlocked.Increment(ref _statements);
                    foreach (var (lease, done) in batch)
                    {
                        done.TrySetResult(written.Contains(lease));
                    }
                }
                catch (Exception e)
                {
                    foreach (var (_, done) in batch)
                    {
                        done.TrySetException(e);
                    }
                }
            }
        }

        /// <summary>Stops taking runs; those already added are written first.</summary>
        public async ValueTask DisposeAsync()
        {
            lock (_lock)
            {
                if (_closed)
                {
                    return;
                }

                _closed = true;
                if (_idle)
                {
                    _idle = false;
                    _signal.Release();
                }
            }

            await _loop.ConfigureAwait(false);
            _signal.Dispose();
        }
    }
}
