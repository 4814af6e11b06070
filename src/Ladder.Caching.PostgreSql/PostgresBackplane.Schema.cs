using Npgsql;

namespace Ladder.Caching;

/// <summary>The change log's tables: created when missing (if allowed), then checked for the privileges the node needs.</summary>
public sealed partial class PostgresBackplane
{
    private async Task EnsureSchemaAsync(NpgsqlConnection connection, CancellationToken token)
    {
        var table = _sql.QualifiedName;
        var stateTable = table + "_state";
        try
        {
            if (!await TablesExistAsync(connection, table, stateTable, token).ConfigureAwait(false))
            {
                if (!_options.CreateSchema)
                {
                    throw new PostgresBackplaneSchemaException(table, "42P01",
                        $"The change log {table} (or {stateTable}) does not exist and CreateSchema is off: create it with the script in https://github.com/ladder-dotnet/ladder/blob/main/docs/caching/postgresql.md, or set CreateSchema = true.");
                }

                await using var transaction = await connection.BeginTransactionAsync(token).ConfigureAwait(false);
                await using (var create = new NpgsqlCommand(_sql.Create, connection, transaction))
                {
                    await create.ExecuteNonQueryAsync(token).ConfigureAwait(false);
                }

                await transaction.CommitAsync(token).ConfigureAwait(false);
            }

            await using var check = new NpgsqlCommand(_sql.Privileges, connection);
            check.Parameters.Add(new NpgsqlParameter<string> { TypedValue = table });
            check.Parameters.Add(new NpgsqlParameter<string> { TypedValue = stateTable });
            await using var reader = await check.ExecuteReaderAsync(token).ConfigureAwait(false);
            await reader.ReadAsync(token).ConfigureAwait(false);
            if (!reader.GetBoolean(0) || !reader.GetBoolean(1) || !reader.GetBoolean(2))
            {
                throw new PostgresBackplaneSchemaException(table, "42501",
                    $"The database user lacks a privilege on the change log: it needs SELECT and INSERT on {table}, SELECT on {stateTable}, and USAGE on the sequence of {table}.seq (DELETE on {table} and UPDATE on {stateTable} to prune).");
            }

            await reader.DisposeAsync().ConfigureAwait(false);
            await using var cache = new NpgsqlCommand(_sql.SequenceCache, connection);
            cache.Parameters.Add(new NpgsqlParameter<string> { TypedValue = table });
            var cached = (long)(await cache.ExecuteScalarAsync(token).ConfigureAwait(false))!;
            if (cached != 1)
            {
                // With a per-session cache a lower number can be taken after a higher one, by a transaction with a
                // later id: a node could then prove a hole empty while its holder is about to commit.
                throw new PostgresBackplaneSchemaException(table, "55000",
                    $"The sequence of {table}.seq caches {cached} numbers per session; the backplane needs numbers taken in order: ALTER SEQUENCE ... CACHE 1.");
            }
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.InsufficientPrivilege or PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.InvalidSchemaName or PostgresErrorCodes.UndefinedObject)
        {
            throw new PostgresBackplaneSchemaException(table, ex.SqlState,
                $"The change log {table} cannot be created or used ({ex.SqlState}: {ex.MessageText}). Grant the privileges listed in https://github.com/ladder-dotnet/ladder/blob/main/docs/caching/postgresql.md, or create the tables with its script.", ex);
        }

        _schemaReady = true;
    }

    private static async Task<bool> TablesExistAsync(NpgsqlConnection connection, string table, string stateTable, CancellationToken token)
    {
        await using var command = new NpgsqlCommand("SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = table });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = stateTable });
        return (bool)(await command.ExecuteScalarAsync(token).ConfigureAwait(false))!;
    }
}
