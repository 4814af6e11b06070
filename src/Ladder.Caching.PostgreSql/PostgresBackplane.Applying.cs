using Ladder.Caching.PostgreSql.Internal;
using Npgsql;

namespace Ladder.Caching;

/// <summary>
/// The receiving side: rows are applied strictly in sequence order, and a hole (a number taken by a transaction that
/// has not committed, or rolled back) holds back every later row until it is filled or proved empty.
/// </summary>
/// <remarks>
/// Why a hole can be proved empty: a writer takes its transaction id before its sequence number (Sql.AssignXid).
/// When a reader first sees a hole h below a visible row k, h's holder has already taken its transaction id
/// (before its number, before k's number, before k committed, before the read). The reader then takes a fresh
/// transaction id X (Sql.FreshXid), which is greater than every id assigned so far, the holder's included. Once a
/// later snapshot's xmin reaches X, every transaction below X has finished, and a committed h would be visible in
/// that same snapshot: if it is still missing, it rolled back. (A snapshot's xmax is not such a bound: it is one
/// past the latest *completed* id, and a running transaction may hold a higher one.)
/// </remarks>
public sealed partial class PostgresBackplane
{
    private readonly Lock _gate = new();
    private long _position = -1;
    private Hole? _hole;
    private StartWindow? _window;
    private long _knownMax;
    private bool _needsHorizon;
    private string _catchUpReason = "start";
    private TaskCompletionSource _positionPulse = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void RequestCatchUp(string reason)
    {
        lock (_gate)
        {
            _catchUpReason = reason;
        }

        _applySignal.Writer.TryWrite(true);
    }

    private void OnAnnounced(long sequence, LogRow? row)
    {
        lock (_gate)
        {
            _knownMax = Math.Max(_knownMax, sequence);
            if (_position >= 0 && sequence == _position + 1 && row is { } next)
            {
                // The fast path: the next number, with its changes in the payload; no read of the log.
                ApplyRow(next, "notify");
                if (_knownMax <= _position && _hole is null)
                {
                    return;
                }
            }
            else if (_position >= 0 && sequence <= _position && (_window is null || sequence > _window.Position))
            {
                return; // already applied (a catch-up read it first)
            }
        }

        RequestCatchUp("gap");
    }

    // Never throws: a failed read is logged and retried with backoff.
    private async Task ApplyLoopAsync(CancellationToken token)
    {
        var failures = 0;
        while (!token.IsCancellationRequested)
        {
            bool recheck;
            lock (_gate)
            {
                recheck = _hole is not null || _window is not null;
            }

            try
            {
                if (recheck)
                {
                    using var timeout = new CancellationTokenSource(_options.HoleRecheckInterval, _time);
                    using var linked = CancellationTokenSource.CreateLinkedTokenSource(token, timeout.Token);
                    try
                    {
                        await _applySignal.Reader.WaitToReadAsync(linked.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!token.IsCancellationRequested)
                    {
                        lock (_gate)
                        {
                            _catchUpReason = "hole";
                        }
                    }
                }
                else if (!await _applySignal.Reader.WaitToReadAsync(token).ConfigureAwait(false))
                {
                    break;
                }

                _applySignal.Reader.TryRead(out _);
                await CatchUpAsync(token).ConfigureAwait(false);
                failures = 0;
                if (_listening)
                {
                    _ready.TrySetResult();
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                failures++;
                var delay = Backoff(failures);
                Log.ReadFailed(_logger, ex, Position, delay);
                try
                {
                    await Task.Delay(delay, _time, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                _applySignal.Writer.TryWrite(true);
            }
        }
    }

    private async Task CatchUpAsync(CancellationToken token)
    {
        var started = _time.GetTimestamp();
        string reason;
        long from;
        lock (_gate)
        {
            reason = _catchUpReason;
            _catchUpReason = "gap";
            from = _position;
        }

        await using var connection = await _dataSource.OpenConnectionAsync(token).ConfigureAwait(false);
        if (from < 0)
        {
            await InitializeAsync(connection, token).ConfigureAwait(false);
        }

        StartWindow? window;
        lock (_gate)
        {
            window = _window;
            from = _position;
        }

        var rows = 0;
        if (window is not null)
        {
            rows += await ReadStartWindowAsync(connection, window, token).ConfigureAwait(false);
        }

        while (true)
        {
            long position;
            lock (_gate)
            {
                position = _position;
            }

            var read = await ReadAfterAsync(connection, position, token).ConfigureAwait(false);
            rows += read.Rows.Count;
            bool more;
            bool needsHorizon;
            lock (_gate)
            {
                more = ApplyRead(read) && read.Rows.Count >= _options.CatchUpBatchSize;
                needsHorizon = _needsHorizon;
            }

            if (needsHorizon)
            {
                var horizon = await FreshXidAsync(connection, token).ConfigureAwait(false);
                lock (_gate)
                {
                    if (_needsHorizon && _hole is not null)
                    {
                        _hole = _hole with { Horizon = horizon };
                        Log.HolePending(_logger, _position + 1, horizon);
                    }

                    _needsHorizon = false;
                }
            }

            if (!more)
            {
                break;
            }
        }

        var elapsed = _time.GetElapsedTime(started);
        _metrics.CatchUp(reason, elapsed);
        Log.CaughtUp(_logger, reason, from, Position, rows, elapsed);
    }

    private async Task InitializeAsync(NpgsqlConnection connection, CancellationToken token)
    {
        await using var command = new NpgsqlCommand(_sql.Initialize, connection);
        await using var reader = await command.ExecuteReaderAsync(token).ConfigureAwait(false);
        await reader.ReadAsync(token).ConfigureAwait(false);
        var max = reader.GetInt64(0);
        var pruned = reader.GetInt64(1);
        var snapshot = reader.GetString(2);
        var xmin = reader.GetInt64(3);
        await reader.DisposeAsync().ConfigureAwait(false);

        // Transactions running now may hold lower numbers, and a running one may have an id above the snapshot's
        // xmax (that is one past the latest completed id): a fresh id bounds them all.
        var horizon = await FreshXidAsync(connection, token).ConfigureAwait(false);
        lock (_gate)
        {
            // A new node has loaded nothing yet: it starts at the end of the log. Transactions open at this moment
            // may hold lower numbers; the start window watches for them until they have all finished (it closes
            // at the first read if none was open).
            _position = Math.Max(max, pruned);
            _knownMax = Math.Max(_knownMax, _position);
            _window = new StartWindow(_position, xmin, horizon, snapshot, pruned);

            // The cache subscribed before this read and may already have loaded values: a row committed between such
            // a load and the start snapshot is at or below the start position, so it is never applied. Whatever was
            // loaded before the start is therefore invalidated once (an empty cache loses nothing).
            if (_subscriber is { } subscriber)
            {
                Log.StartInvalidated(_logger, _position);
                _metrics.FullInvalidation("start");
                subscriber.OnStarted(); // a first connect: nothing was lost, so not OnReconnected (the cache warns on that)
            }

            PulsePosition();
        }

        Log.Listening(_logger, _sql.Channel, _sql.QualifiedName, _position);
    }

    private async Task<int> ReadStartWindowAsync(NpgsqlConnection connection, StartWindow window, CancellationToken token)
    {
        await using var command = new NpgsqlCommand(_sql.ReadStartWindow, connection);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = window.Position });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = window.Xmin.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = window.Snapshot });
        var rows = new List<LogRow>();
        long xmin = 0, pruned = 0;
        await using (var reader = await command.ExecuteReaderAsync(token).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(token).ConfigureAwait(false))
            {
                xmin = reader.GetInt64(0);
                pruned = reader.GetInt64(6);
                if (!reader.IsDBNull(1))
                {
                    rows.Add(new LogRow(reader.GetInt64(1), reader.GetString(2)[0], reader.GetString(3), reader.GetInt64(4), reader.GetString(5), null));
                }
            }
        }

        lock (_gate)
        {
            if (pruned > window.PrunedThrough)
            {
                // Pruning went past the mark seen at the start: a window row that committed since may have been
                // deleted before this read found it, and nobody knows what it changed.
                Log.PrunedPastPosition(_logger, window.PrunedThrough, pruned);
                _metrics.FullInvalidation("pruned");
                _subscriber?.OnReconnected();
                _window = window = window with { PrunedThrough = pruned };
            }

            foreach (var row in rows)
            {
                if (window.Applied.Add(row.Sequence))
                {
                    ApplyChanges(row, "read");
                }
            }

            // Every transaction open at the start has finished, and this same snapshot saw what they committed.
            if (xmin >= window.Horizon && ReferenceEquals(_window, window))
            {
                _window = null;
                PulsePosition();
            }
        }

        return rows.Count;
    }

    // A transaction of its own that only takes an id (its commit need not wait for the disk): greater than every id
    // assigned before it.
    private async Task<long> FreshXidAsync(NpgsqlConnection connection, CancellationToken token)
    {
        await using var transaction = await connection.BeginTransactionAsync(token).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(_sql.FreshXid, connection, transaction);
        var xid = (long)(await command.ExecuteScalarAsync(token).ConfigureAwait(false))!;
        await transaction.CommitAsync(token).ConfigureAwait(false);
        return xid;
    }

    private async Task<ReadResult> ReadAfterAsync(NpgsqlConnection connection, long position, CancellationToken token)
    {
        await using var command = new NpgsqlCommand(_sql.ReadAfter, connection);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = position });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = _options.CatchUpBatchSize });
        var rows = new List<LogRow>();
        long xmin = 0, xmax = 0, pruned = 0;
        await using (var reader = await command.ExecuteReaderAsync(token).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(token).ConfigureAwait(false))
            {
                xmin = reader.GetInt64(0);
                xmax = reader.GetInt64(1);
                pruned = reader.GetInt64(2);
                if (!reader.IsDBNull(3))
                {
                    rows.Add(new LogRow(reader.GetInt64(3), reader.GetString(4)[0], reader.GetString(5), reader.GetInt64(6), reader.GetString(7), null));
                }
            }
        }

        return new ReadResult(rows, xmin, xmax, pruned);
    }

    // Applies a read in sequence order; returns false when it stopped at a hole. Under _gate.
    private bool ApplyRead(ReadResult read)
    {
        if (read.PrunedThrough > _position)
        {
            // The rows after our position are gone: nobody knows what they changed, so everything is suspect.
            Log.PrunedPastPosition(_logger, _position, read.PrunedThrough);
            _metrics.FullInvalidation("pruned");
            _subscriber?.OnReconnected();
            _position = read.PrunedThrough;
            _hole = null;
            PulsePosition();
        }

        foreach (var row in read.Rows)
        {
            if (row.Sequence <= _position)
            {
                continue;
            }

            if (row.Sequence != _position + 1)
            {
                if (_hole is { } hole && read.Xmin >= hole.Horizon && row.Sequence - 1 <= hole.Through)
                {
                    Log.HoleSkipped(_logger, _position + 1, row.Sequence - 1);
                    _metrics.HolesSkipped(row.Sequence - 1 - _position);
                    _position = row.Sequence - 1;
                    _hole = null;
                }
                else
                {
                    if (_hole is null || read.Xmin >= _hole.Horizon)
                    {
                        // First seen now (or partly beyond the proof of an older one): the caller takes a fresh
                        // transaction id as its horizon; until then it cannot be resolved.
                        _hole = new Hole(long.MaxValue, read.Rows[^1].Sequence);
                        _needsHorizon = true;
                        PulsePosition();
                    }

                    return false;
                }
            }

            ApplyRow(row, "read");
        }

        if (_hole is not null && _position >= _hole.Through)
        {
            _hole = null;
        }

        return true;
    }

    // Applies the next row and advances the position. Under _gate.
    private void ApplyRow(LogRow row, string path)
    {
        ApplyChanges(row, path);
        _position = row.Sequence;
        _knownMax = Math.Max(_knownMax, row.Sequence);
        PulsePosition();
    }

    private void ApplyChanges(LogRow row, string path)
    {
        _metrics.DeliveryLag(_time.GetUtcNow() - DateTimeOffset.UnixEpoch.AddTicks(row.CreatedMicros * 10));

        // This node's after-commit rows were applied when they were published; its outbox rows were not (or only
        // by an explicit ApplyLocally), so they are applied here: the local node cannot miss them.
        if (row.Kind == 'a' && string.Equals(row.Node, _instance, StringComparison.Ordinal))
        {
            _metrics.RowApplied("own");
            return;
        }

        Change[] changes;
        try
        {
            changes = row.Changes ?? ChangeCodec.ReadChanges(row.Json!);
        }
        catch (Exception ex) when (ex is FormatException or System.Text.Json.JsonException or InvalidOperationException or KeyNotFoundException)
        {
            // What it changed is unknown: everything is suspect.
            Log.Malformed(_logger, row.Sequence, ex.Message);
            _metrics.FullInvalidation("malformed");
            _subscriber?.OnReconnected();
            return;
        }

        _metrics.RowApplied(path);
        _subscriber?.OnChanges(changes);
    }

    private void PulsePosition()
    {
        var old = _positionPulse;
        _positionPulse = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        old.TrySetResult();
    }

    /// <summary>For tests: the position, the first sequence of a pending hole (or -1), whether the start window is open, whether the listener listens.</summary>
    internal (long Position, long HoleFrom, bool WindowOpen, bool Listening) State
    {
        get
        {
            lock (_gate)
            {
                return (_position, _hole is null ? -1 : _position + 1, _window is not null, _listening);
            }
        }
    }

    /// <summary>For tests: completes at the next change of <see cref="State"/> (or of the position).</summary>
    internal Task StateChanged
    {
        get
        {
            lock (_gate)
            {
                return _positionPulse.Task;
            }
        }
    }

    private void SetListening(bool listening)
    {
        lock (_gate)
        {
            _listening = listening;
            PulsePosition();
        }
    }

    private sealed record Hole(long Horizon, long Through);

    private sealed record StartWindow(long Position, long Xmin, long Horizon, string Snapshot, long PrunedThrough)
    {
        public HashSet<long> Applied { get; } = [];
    }

    private readonly record struct LogRow(long Sequence, char Kind, string Node, long CreatedMicros, string? Json, Change[]? Changes);

    private readonly record struct ReadResult(List<LogRow> Rows, long Xmin, long Xmax, long PrunedThrough);
}
