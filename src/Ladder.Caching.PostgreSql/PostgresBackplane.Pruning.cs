using Ladder.Caching.PostgreSql.Internal;
using Npgsql;

namespace Ladder.Caching;

/// <summary>Pruning the change log by age and size, in batches; nodes take turns through an advisory lock.</summary>
public sealed partial class PostgresBackplane
{
    /// <summary>
    /// Deletes rows older than <see cref="PostgresBackplaneOptions.RetentionAge"/> or beyond the newest
    /// <see cref="PostgresBackplaneOptions.RetentionMaxRows"/>, in batches of <see cref="PostgresBackplaneOptions.PruneBatchSize"/>,
    /// and records how far the log was pruned (a node behind that mark invalidates everything). Does nothing when
    /// another node is pruning.
    /// </summary>
    /// <param name="cancellationToken">Stops between batches.</param>
    /// <returns>How many rows were deleted.</returns>
    /// <exception cref="NpgsqlException">The database failed.</exception>
    public async Task<int> PruneAsync(CancellationToken cancellationToken = default)
    {
        var total = 0;
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
