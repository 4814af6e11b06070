using System.Threading.Channels;
using Ladder.Caching.PostgreSql.Internal;
using Npgsql;
using NpgsqlTypes;

namespace Ladder.Caching;

/// <summary>The sending side: a debounced batcher for after-commit publishes, and the in-transaction (outbox) publish.</summary>
public sealed partial class PostgresBackplane
{
    private readonly Lock _sendGate = new();
    private readonly Channel<bool> _writeSignal;
    private readonly CancellationTokenSource _writerStop = new();
    private readonly CancellationTokenSource _windowCut = new();
    private List<Change> _pending = [];
    private long _sentCount;
    private long _writtenCount;
    private int _inFlight; // changes of the batch the writer is writing (taken out of _pending), under _sendGate
    private long _lastWrittenSequence;
    private TaskCompletionSource _writtenPulse = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _windowEntered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _writerTask = Task.CompletedTask;

    /// <summary>For tests: completes when the writer first waits out a publish window.</summary>
    internal Task WindowEntered => _windowEntered.Task;

    /// <inheritdoc />
    /// <remarks>
    /// Never blocks and never throws: the changes are queued, and the writer turns everything sent within
    /// <see cref="PostgresBackplaneOptions.PublishWindow"/> into one log row and one NOTIFY (retrying while the
    /// database is unreachable). The sending node already applied them, so it skips its own row when it arrives.
    /// </remarks>
    public void Send(IBackplaneSubscriber source, ReadOnlySpan<Change> changes)
    {
        if (changes.IsEmpty)
        {
            return;
        }

        if (Volatile.Read(ref _disposed) != 0)
        {
            Log.SentAfterDispose(_logger);
            return;
        }

        lock (_sendGate)
        {
            _pending.AddRange(changes);
            _sentCount += changes.Length;
        }

        _writeSignal.Writer.TryWrite(true);
    }

    /// <summary>
    /// Waits until every change sent so far is in the change log, and returns the last sequence this node wrote:
    /// give it to another node's <see cref="WaitForSequenceAsync"/> for read-your-writes across nodes.
    /// </summary>
    /// <remarks>The writer runs once the backplane has started (a cache subscribed, or <see cref="StartAsync"/>).</remarks>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The sequence of the last row this node wrote (0 if none).</returns>
    /// <exception cref="ObjectDisposedException">The backplane was disposed before the changes were written.</exception>
    public async Task<long> FlushAsync(CancellationToken cancellationToken = default)
    {
        long target;
        lock (_sendGate)
        {
            target = _sentCount;
        }

        while (true)
        {
            Task pulse;
            lock (_sendGate)
            {
                if (_writtenCount >= target)
                {
                    return _lastWrittenSequence;
                }

                ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0 && _writerTask.IsCompleted, this);
                pulse = _writtenPulse.Task;
            }

            await pulse.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Adds the changes to the change log inside the caller's transaction (the outbox way): they commit or vanish
    /// with the business write, so a process that dies right after its commit loses no invalidation. Every node,
    /// this one included, applies the row when its commit is announced; call <see cref="ApplyLocally"/> after the
    /// commit to apply it here at once.
    /// </summary>
    /// <param name="transaction">The caller's open transaction (on a connection to the change log's database).</param>
    /// <param name="changes">The changes.</param>
    /// <param name="cancellationToken">Cancels the statement.</param>
    /// <returns>The row's sequence (for <see cref="WaitForSequenceAsync"/> once committed).</returns>
    /// <exception cref="ArgumentException">The transaction has no connection (already finished) or no changes were given.</exception>
    /// <exception cref="NpgsqlException">The statement failed (the transaction is then aborted, as for any failed statement).</exception>
    public async Task<long> PublishInTransactionAsync(NpgsqlTransaction transaction, IReadOnlyList<Change> changes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ArgumentNullException.ThrowIfNull(changes);
        var connection = transaction.Connection ?? throw new ArgumentException("The transaction is finished (it has no connection).", nameof(transaction));
        if (changes.Count == 0)
        {
            throw new ArgumentException("No changes to publish.", nameof(changes));
        }

        return await WriteRowAsync(connection, transaction, changes, 't', cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Applies changes to this node's cache at once, without sending them: call it after committing a
    /// <see cref="PublishInTransactionAsync"/>, so this node is fresh before the NOTIFY comes back (which applies them
    /// again, harmlessly). Never call it before the commit: a load in between would read the old data.
    /// </summary>
    /// <param name="changes">The changes that committed.</param>
    public void ApplyLocally(ReadOnlySpan<Change> changes) => _subscriber?.OnChanges(changes);

    private async Task<long> WriteRowAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, IReadOnlyList<Change> changes, char kind, CancellationToken cancellationToken)
    {
        var json = ChangeCodec.WriteChanges(changes);
        var tail = ChangeCodec.WritePayload(_instance, kind, json, _options.MaxPayloadBytes);
        await using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(new NpgsqlBatchCommand(_sql.AssignXid));
        var insert = new NpgsqlBatchCommand(_sql.Insert);
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = kind == 't' ? "t" : "a", NpgsqlDbType = NpgsqlDbType.Text });
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _instance, NpgsqlDbType = NpgsqlDbType.Text });
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = json, NpgsqlDbType = NpgsqlDbType.Text });
        insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _sql.Channel, NpgsqlDbType = NpgsqlDbType.Text });
        insert.Parameters.Add(new NpgsqlParameter { Value = (object?)tail ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        batch.BatchCommands.Add(insert);
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            throw new PostgresBackplaneException("The change-log insert returned no sequence.");
        }

        var sequence = reader.GetInt64(0);
        _metrics.BatchWritten(changes.Count);
        return sequence;
    }

    // The single writer: one row per window. Ends when the signal channel completes (dispose) and nothing is left,
    // or when the shutdown timeout cancels it. Never throws.
    private async Task WriteLoopAsync()
    {
        var token = _writerStop.Token;
        try
        {
            while (await _writeSignal.Reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                _writeSignal.Reader.TryRead(out _);
                if (_options.PublishWindow > TimeSpan.Zero && !_windowCut.IsCancellationRequested)
                {
                    _windowEntered.TrySetResult();
                    try
                    {
                        await Task.Delay(_options.PublishWindow, _time, _windowCut.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (_windowCut.IsCancellationRequested)
                    {
                        // Disposing: what is queued is written now, not at the end of the window.
                    }
                }

                await WritePendingAsync(token).ConfigureAwait(false);
            }

            await WritePendingAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            int dropped;
            lock (_sendGate)
            {
                // The batch being retried was taken out of the queue: it is not written either.
                dropped = _pending.Count + _inFlight;
            }

            if (dropped > 0)
            {
                Log.ShutdownDropped(_logger, dropped, _options.ShutdownTimeout);
            }
        }
        finally
        {
            lock (_sendGate)
            {
                PulseWritten();
            }
        }
    }

    private async Task WritePendingAsync(CancellationToken token)
    {
        while (true)
        {
            List<Change> batch;
            lock (_sendGate)
            {
                if (_pending.Count == 0)
                {
                    return;
                }

                if (_pending.Count <= _options.MaxChangesPerRow)
                {
                    batch = _pending;
                    _pending = [];
                }
                else
                {
                    batch = _pending.GetRange(0, _options.MaxChangesPerRow);
                    _pending.RemoveRange(0, _options.MaxChangesPerRow);
                }

                _inFlight = batch.Count;
            }

            // At-least-once: the batch is retried until a row holds it; only then is it counted as written.
            var sequence = await WriteWithRetryAsync(batch, token).ConfigureAwait(false);
            lock (_sendGate)
            {
                _inFlight = 0;
                _writtenCount += batch.Count;
                _lastWrittenSequence = Math.Max(_lastWrittenSequence, sequence);
                PulseWritten();
            }
        }
    }

    private async Task<long> WriteWithRetryAsync(List<Change> batch, CancellationToken token)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await _dataSource.OpenConnectionAsync(token).ConfigureAwait(false);
                return await WriteRowAsync(connection, null, batch, 'a', token).ConfigureAwait(false);
            }
            catch (Exception ex) when (!token.IsCancellationRequested)
            {
                var delay = Backoff(attempt);
                _metrics.WriteFailed();
                Log.WriteFailed(_logger, ex, batch.Count, delay);
                await Task.Delay(delay, _time, token).ConfigureAwait(false);
            }
        }
    }

    private void PulseWritten()
    {
        var old = _writtenPulse;
        _writtenPulse = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        old.TrySetResult();
    }

    private async Task StopWriterAsync()
    {
        // The window is cut first, so the shutdown timeout is spent writing, not waiting out a debounce.
        await _windowCut.CancelAsync().ConfigureAwait(false);
        _writeSignal.Writer.TryComplete();
        try
        {
            await _writerTask.WaitAsync(_options.ShutdownTimeout, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await _writerStop.CancelAsync().ConfigureAwait(false);
            await _writerTask.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        int neverWritten;
        lock (_sendGate)
        {
            neverWritten = _pending.Count + _inFlight;
        }

        if (neverWritten > 0 && !_started)
        {
            // Sent, but the backplane never started (no cache subscribed, no StartAsync): nobody else saw them.
            Log.ShutdownDropped(_logger, neverWritten, _options.ShutdownTimeout);
        }
    }
}
