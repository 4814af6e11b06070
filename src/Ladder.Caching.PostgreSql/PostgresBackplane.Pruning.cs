using Ladder.Caching.PostgreSql.Internal;
using Npgsql;

namespace Ladder.Caching;

/// <summary>Pruning the change log by age and size, in batches; nodes take turns through an advisory lock.</summary>
public sealed partial class PostgresBackplane
{
    private readonly Lock _pruneGate = new();
    private long _pruneSettled;
    private (long Sequence, long Xid)? _prunePending;

    /// <summary>
    /// Deletes rows older than <see cref="PostgresBackplaneOptions.RetentionAge"/> or beyond the newest
    /// <see cref="PostgresBackplaneOptions.RetentionMaxRows"/>, in batches of <see cref="PostgresBackplaneOptions.PruneBatchSize"/>,
    /// and records how far the log was pruned (a node behind that mark invalidates everything). Does nothing when
    /// another node is pruning. Never prunes a number a transaction may still commit: only numbers taken before a
    /// moment after which every transaction open then has finished (a publish inside a long transaction holds
    /// pruning back to its number; see docs/caching/postgresql.md, "Pruning").
    /// </summary>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <returns>How many rows were deleted.</returns>
    /// <exception cref="PostgresBackplaneSchemaException">The database user may not prune (<c>42501</c>: it needs
    /// <c>DELETE</c> on the log and <c>UPDATE</c> on its state table), or the tables are gone.</exception>
    /// <exception cref="NpgsqlException">The database failed.</exception>
    public async Task<int> PruneAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await PruneCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.InsufficientPrivilege or PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.InvalidSchemaName)
        {
            // A node may publish and read with fewer privileges than pruning takes; say which ones, as the start does.
            throw new PostgresBackplaneSchemaException(_sql.QualifiedName, ex.SqlState,
                $"The change log {_sql.QualifiedName} cannot be pruned ({ex.SqlState}: {ex.MessageText}). Pruning needs DELETE on it and UPDATE on {_sql.QualifiedName}_state (docs/caching/postgresql.md, \"Errors\"); or leave pruning to a node that has them and set PruneInterval to Timeout.InfiniteTimeSpan here.", ex);
        }
    }

    private async Task<int> PruneCoreAsync(CancellationToken cancellationToken)
    {
        var total = 0;
        var settled = await SettledThroughAsync(cancellationToken).ConfigureAwait(false);
        while (true)
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (var lockCommand = new NpgsqlCommand(_sql.PruneLock, connection, transaction))
            {
                if (!(bool)(await lockCommand.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
                {
                    return total;
                }
            }

            long cutoff;
            await using (var cutoffCommand = new NpgsqlCommand(_sql.PruneCutoff, connection, transaction))
            {
                cutoffCommand.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = _options.RetentionAge });
                cutoffCommand.Parameters.Add(new NpgsqlParameter<long> { TypedValue = _options.RetentionMaxRows });
                cutoff = (long)(await cutoffCommand.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            }

            // A row pruned past a number still open would let that number commit below every node's position: the
            // nodes would invalidate everything once, at the prune, and then never apply its changes.
            cutoff = Math.Min(cutoff, settled);

            int rows;
            long through;
            await using (var prune = new NpgsqlCommand(_sql.Prune, connection, transaction))
            {
                prune.Parameters.Add(new NpgsqlParameter<long> { TypedValue = cutoff });
                prune.Parameters.Add(new NpgsqlParameter<int> { TypedValue = _options.PruneBatchSize });
                await using var reader = await prune.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                rows = (int)reader.GetInt64(0);
                through = reader.GetInt64(1);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            total += rows;
            if (rows > 0)
            {
                Log.Pruned(_logger, rows, through);
            }

            if (rows < _options.PruneBatchSize)
            {
                return total;
            }
        }
    }

    // The highest sequence at or below which every number is settled (committed and visible, or never to be): the
    // sequence's last number sampled before a fresh transaction id X, once a snapshot's xmin reaches X. A sample
    // still unsettled is kept and checked at the next prune, so one long transaction delays pruning, never stops it
    // for good. Each node keeps its own samples (only ever conservative).
    private async Task<long> SettledThroughAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        long last, xid;
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
        {
            await using var batch = new NpgsqlBatch(connection, transaction);
            batch.BatchCommands.Add(new NpgsqlBatchCommand(_sql.PruneSampleSequence));
            batch.BatchCommands.Add(new NpgsqlBatchCommand(_sql.FreshXid));
            await using (var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                last = reader.GetInt64(0);
                await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
                await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                xid = reader.GetInt64(0);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        long xmin;
        await using (var command = new NpgsqlCommand(_sql.SnapshotXmin, connection))
        {
            xmin = (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }

        lock (_pruneGate)
        {
            if (_prunePending is { } pending && xmin >= pending.Xid)
            {
                _pruneSettled = Math.Max(_pruneSettled, pending.Sequence);
                _prunePending = null;
            }

            if (xmin >= xid)
            {
                _pruneSettled = Math.Max(_pruneSettled, last);
                _prunePending = null;
            }
            else
            {
                _prunePending ??= (last, xid);
            }

            return _pruneSettled;
        }
    }

    // Never throws.
    private async Task PruneLoopAsync(CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.PruneInterval, _time, token).ConfigureAwait(false);
                await PruneAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                Log.PruneFailed(_logger, ex, _options.PruneInterval);
            }
        }
    }
}
