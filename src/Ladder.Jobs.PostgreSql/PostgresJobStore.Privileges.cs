using Npgsql;
using NpgsqlTypes;

namespace Ladder.Jobs;

/// <summary>At open, every privilege the store will use on an existing schema, so a missing grant fails the start, not a later write.</summary>
public sealed partial class PostgresJobStore
{
    // What the store's statements need, table by table (an ON CONFLICT DO UPDATE needs UPDATE too). Tables not created
    // yet are skipped: the migration creates them, owned by this user. nextval needs USAGE or UPDATE on a sequence.
    private const string MissingPrivilegesSql =
        """
        WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = @schema),
        need(name, kind, privilege) AS (VALUES
          ('schema_version', 'r', 'SELECT'),
          ('jobs', 'r', 'SELECT'), ('jobs', 'r', 'INSERT'), ('jobs', 'r', 'UPDATE'), ('jobs', 'r', 'DELETE'),
          ('job_attempts', 'r', 'SELECT'), ('job_attempts', 'r', 'INSERT'), ('job_attempts', 'r', 'DELETE'),
          ('schedules', 'r', 'SELECT'), ('schedules', 'r', 'INSERT'), ('schedules', 'r', 'UPDATE'), ('schedules', 'r', 'DELETE'),
          ('rate_limits', 'r', 'SELECT'), ('rate_limits', 'r', 'INSERT'), ('rate_limits', 'r', 'UPDATE'), ('rate_limits', 'r', 'DELETE'),
          ('rate_starts', 'r', 'SELECT'), ('rate_starts', 'r', 'INSERT'), ('rate_starts', 'r', 'DELETE'),
          ('jobs_id_seq', 'S', 'USAGE'), ('job_attempts_id_seq', 'S', 'USAGE'))
        SELECT 'USAGE ON SCHEMA ' || @schema, quote_ident(current_user) FROM ns WHERE NOT has_schema_privilege(ns.oid, 'USAGE')
        UNION ALL
        SELECT n.privilege || ' ON ' || CASE n.kind WHEN 'S' THEN 'SEQUENCE ' ELSE '' END || @schema || '.' || n.name, quote_ident(current_user)
        FROM need n JOIN pg_class c ON c.relname = n.name AND c.relkind = n.kind::"char" AND c.relnamespace = (SELECT oid FROM ns)
        WHERE CASE n.kind WHEN 'S' THEN NOT has_sequence_privilege(c.oid, 'USAGE,UPDATE') ELSE NOT has_table_privilege(c.oid, n.privilege) END
        """;

    private async Task CheckPrivilegesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var missing = new List<string>();
        var user = "";
        await using (var command = new NpgsqlCommand(MissingPrivilegesSql, connection, transaction))
        {
            command.Parameters.Add(P("schema", _options.Schema, NpgsqlDbType.Text));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                missing.Add(reader.GetString(0));
                user = reader.GetString(1);
            }
        }

        if (missing.Count > 0)
        {
            var s = _options.Schema;
            throw new PostgresJobStoreException(Location, PostgresJobStoreProblem.PermissionDenied, PostgresErrorCodes.InsufficientPrivilege,
                $"The database user {user} lacks {string.Join(", ", missing)} on the job store's schema {s}. As the schema's owner, run: " +
                $"GRANT USAGE ON SCHEMA {s} TO {user}; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {user}; " +
                $"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {s} TO {user}; (docs/jobs/postgresql.md). {Location}");
        }
    }
}
