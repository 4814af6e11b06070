using System.Text.RegularExpressions;
using Ladder.Jobs.PostgreSql.Internal;

namespace Ladder.Jobs.PostgreSql.Tests.Support;

/// <summary>
/// The store's statements that run on every enqueue, claim, outcome, heartbeat or rescue, or on a dashboard's poll, with
/// a type and a value for each parameter (for plan tests). Prepared: the store prepares it (PostgresJobStore.PrepareAsync),
/// so after five runs on a connection the server may keep a generic plan for it; the others run unnamed, planned for
/// their values each time, unless a data source of the user's auto-prepares them.
/// </summary>
internal static partial class PostgresStatements
{
    /// <summary>
    /// A statement and its parameters (name, PostgreSQL type, and a literal for a custom plan); <paramref name="Before"/>:
    /// what the store sends before it in its transaction (planner settings); <paramref name="Poll"/>: a dashboard's read.
    /// </summary>
    public sealed record Statement(string Name, string Sql, bool Prepared, IReadOnlyDictionary<string, (string Type, string Value)> Parameters, string? Before = null, bool Poll = false)
    {
        /// <summary>The text with <c>$1..$n</c> for the named parameters, and their types and values in that order.</summary>
        public (string Sql, string Types, string Values) Positional()
        {
            var order = new List<string>();
            var sql = Named().Replace(Sql, m =>
            {
                var name = m.Groups[1].Value;
                if (!Parameters.ContainsKey(name))
                {
                    throw new InvalidOperationException($"{Name}: parameter @{name} has no type and value in PostgresStatements.");
                }

                var index = order.IndexOf(name);
                if (index < 0)
                {
                    order.Add(name);
                    index = order.Count - 1;
                }

                return "$" + (index + 1);
            });
            return (sql, string.Join(", ", order.Select(n => Parameters[n].Type)), string.Join(", ", order.Select(n => Parameters[n].Value)));
        }
    }

    /// <summary>Every frequent statement of a store over <paramref name="schema"/> (database clock), claiming <paramref name="queue"/>.</summary>
    public static IReadOnlyList<Statement> Frequent(string schema, string queue)
    {
        var sql = new Sql(schema, contextClock: false);
        var limits = new LimitSql(schema, contextClock: false);
        var q = $"'{queue}'";

        // 64 leases of one batch (completions, heartbeats, start marks), ids of rows that exist in every shape.
        var ids = "'{" + string.Join(',', Enumerable.Range(1, 64).Select(i => i * 997)) + "}'";
        var tokens = "'{" + string.Join(',', Enumerable.Repeat(1, 64)) + "}'";
        var batch = P(("id", "bigint[]", ids), ("token", "bigint[]", tokens));
        var batchLease = P(("id", "bigint[]", ids), ("token", "bigint[]", tokens), ("lease", "interval", "'30 seconds'"));
        var one = P(("id", "bigint", "997"), ("token", "bigint", "1"), ("retried", "boolean", "false"));
        return
        [
            new(nameof(Sql.Insert), sql.Insert, true, P(
                ("queue", "text[]", $"ARRAY[{q}]"), ("kind", "text[]", "'{test}'"), ("payload", "text[]", "'{\"{}\"}'"), ("priority", "int[]", "'{0}'"),
                ("has_run_at", "boolean[]", "'{false}'"), ("run_at", "timestamptz[]", "'{NULL}'"), ("delay", "interval[]", "'{0}'"), ("max_attempts", "int[]", "'{5}'"),
                ("timeout_ms", "bigint[]", "'{NULL}'"), ("unique_key", "text[]", "'{u1}'"), ("trace_parent", "text[]", "'{NULL}'"),
                ("concurrency_key", "text[]", "'{NULL}'"), ("concurrency_limit", "int[]", "'{0}'"))),
            new(nameof(Sql.FindUnique), sql.FindUnique, false, P(("kind", "text[]", "'{test}'"), ("unique_key", "text[]", "'{u1}'"))),

            // The plain claim runs with bitmap scans off too (PostgresJobStore.ClaimPlainAsync, BitmapClaims off by default).
            new(nameof(Sql.Claim), sql.Claim, true, P(("queue", "text", q), ("limit", "int", "64"), ("token", "bigint", "1"), ("lease", "interval", "'30 seconds'"),
                ("start_now", "bigint", "64")), Sql.NoSeqOrBitmapScan),
            new(nameof(Sql.NextRunIn), sql.NextRunIn, true, P(("queue", "text", q)), Sql.NoSeqScan),
            new("LimitSql." + nameof(LimitSql.Claim), limits.Claim, true, P(
                ("queue", "text", q), ("target", "int", "64"), ("start_now", "int", "64"), ("cursor", "text", "''"), ("walk_end", "text", "NULL"),
                ("walk_passed", "boolean", "false"), ("max_keys", "int", "96"), ("token", "bigint", "1"), ("lease", "interval", "'30 seconds'")), Sql.NoSeqOrBitmapScan),
            new(nameof(Sql.MarkStarted), sql.MarkStarted, true, batch),
            new(nameof(Sql.Complete), sql.Complete, true, batch),
            new(nameof(Sql.CompleteRetried), sql.CompleteRetried, true, batch),
            new(nameof(Sql.Heartbeat), sql.Heartbeat, true, batchLease),
            new(nameof(Sql.ExtendHeld), sql.ExtendHeld, false, batchLease),
            new(nameof(Sql.Fail), sql.Fail, true, P(
                ("id", "bigint", "997"), ("token", "bigint", "1"), ("retried", "boolean", "false"), ("dead", "boolean", "false"), ("delay", "interval", "'5 seconds'"),
                ("last_error", "text", "'boom'"), ("attempt", "int", "1"), ("started_at", "timestamptz", "now()"), ("error_type", "text", "'System.Exception'"),
                ("error_message", "text", "'boom'"), ("error_stack", "text", "'stack'"))),
            new(nameof(Sql.Snooze), sql.Snooze, false, P(("id", "bigint", "997"), ("token", "bigint", "1"), ("retried", "boolean", "false"), ("delay", "interval", "'5 seconds'"))),
            new(nameof(Sql.GiveBack), sql.GiveBack, false, one),
            new(nameof(Sql.ReleaseCancelled), sql.ReleaseCancelled, false, P(("id", "bigint", "997"), ("token", "bigint", "1"))),
            new(nameof(Sql.Rescue), sql.Rescue, false, P(("max_rescues", "int", "10"), ("channel", "text", $"'{schema}'"), ("notify", "boolean", "false")), Sql.NoSeqScan),

            // The dashboard's polls: a page of running jobs of the queue, a job and its attempts. Not here: the counts by
            // queue and state, which read every job by design; the keys in use (KeysInUse below), which read every keyed
            // job in use, so more than any bound when most are; nor the purge, a retention batch, which reads every
            // finished row when none is old enough (no index holds finished_at).
            new(nameof(Sql.Page), sql.Page, false, P(
                ("state", "smallint", "2"), ("after", "bigint", "0"), ("queue", "text", q), ("kind", "text", "NULL"), ("unique_key", "text", "NULL"), ("limit", "int", "51")), Poll: true),
            new(nameof(Sql.Job), sql.Job, false, P(("id", "bigint", "997")), Poll: true),
            new(nameof(Sql.Attempts), sql.Attempts, false, P(("id", "bigint", "997")), Poll: true),
        ];
    }

    /// <summary>The dashboard's keys page (LimitSql.KeysInUse): the keys of the jobs waiting or running, 100 at most.</summary>
    public static Statement KeysInUse(string schema) =>
        new(nameof(LimitSql.KeysInUse), new LimitSql(schema, contextClock: false).KeysInUse, false, P(("limit", "int", "100")), Sql.NoSeqScan);

    private static Dictionary<string, (string Type, string Value)> P(params (string Name, string Type, string Value)[] parameters) =>
        parameters.ToDictionary(p => p.Name, p => (p.Type, p.Value), StringComparer.Ordinal);

    [GeneratedRegex(@"(?<![:\w])@(\w+)")]
    private static partial Regex Named();
}
