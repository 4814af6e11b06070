using System.Globalization;
using System.Text.RegularExpressions;
using Ladder.Jobs.PostgreSql.Tests.Support;
using Npgsql;

namespace Ladder.Jobs.PostgreSql.Tests;

/// <summary>
/// The frequent statements seek their indexes whatever statistics the jobs table holds, with a plan for their values
/// (custom) and with a plan for any values (generic: the store prepares its frequent statements, and after five runs on
/// a connection the server may keep one plan for all later runs, costed with average selectivities). Autovacuum
/// analyzes the jobs table every 10,000 changed rows (Migrations), so its statistics may be taken while the table holds
/// one lopsided shape (every job keyed, none keyed, nearly all finished, nearly all in one queue, all running), and
/// stay until the next 10,000 changes while the table holds another. Analyzed while no job had a key, a keyed claim
/// read the whole table for each key it visited: 352 ms against 1.2 ms per claim at 100,000 keyed jobs.
/// </summary>
public sealed partial class QueryPlanTests
{
    public enum Shape
    {
        AllWaitingWithKeys,
        AllWaitingWithoutKeys,
        NearlyAllSucceeded,
        NearlyAllInOneQueue,
        AllRunning,
    }

    public enum PlanKind
    {
        Custom,
        Generic,
    }

    internal const int Rows = 100_000;

    private string _database = "";

    [OneTimeSetUp]
    public async Task CreateDatabaseAsync() => _database = await Server.NewDatabaseAsync();

    [Test]
    [CancelAfter(180_000)]
    public async Task AfterAnalyzeOfAnyShape_WhateverTheTableHoldsNow_NoFrequentStatementReadsTheJobsTable(
        [Values] Shape analyzed, [Values] Shape holds, CancellationToken ct)
    {
        var schema = await ShapeAsync(analyzed, holds, ct);
        await using var dataSource = NpgsqlDataSource.Create(_database);

        var reads = new List<string>();
        foreach (var queue in QueuesOf(holds))
        {
            foreach (var statement in PostgresStatements.Frequent(schema, queue).Where(static s => !s.Poll))
            {
                // Unprepared statements are planned for their values on every run: only a custom plan.
                foreach (var kind in statement.Prepared ? [PlanKind.Custom, PlanKind.Generic] : new[] { PlanKind.Custom })
                {
                    var plan = await ExplainAsync(dataSource, statement, kind, analyze: true, ct);

                    // The rescue reads every running row: no index holds lease_expires_at (heartbeats stay HOT updates).
                    var bound = statement.Name == nameof(PostgreSql.Internal.Sql.Rescue) && holds == Shape.AllRunning ? int.MaxValue : Rows / 10;
                    reads.AddRange(FullReads(plan, bound).Select(r => $"{statement.Name} ({queue}, {kind} plan): {r}"));
                }
            }
        }

        reads.Should().BeEmpty($"every frequent statement seeks an index of the jobs table (analyzed: {analyzed}, holds: {holds})");
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task AfterAnalyzeOfAnyShape_NoDashboardPollReadsTheJobsTable([Values] Shape shape, CancellationToken ct)
    {
        var schema = await ShapeAsync(shape, shape, ct);
        await using var dataSource = NpgsqlDataSource.Create(_database);

        var reads = new List<string>();
        foreach (var statement in PostgresStatements.Frequent(schema, QueuesOf(shape)[0]).Where(static s => s.Poll))
        {
            var plan = await ExplainAsync(dataSource, statement, PlanKind.Custom, analyze: true, ct);
            reads.AddRange(FullReads(plan, Rows / 10).Select(r => $"{statement.Name}: {r}"));
        }

        reads.Should().BeEmpty($"a dashboard's poll seeks an index of the jobs table ({shape})");
    }

    /// <summary>
    /// The keys page reads the keyed jobs waiting or running, not the table: with 100,000 jobs nearly all succeeded (100
    /// keyed jobs in use), it read every row (7-18 ms) for the 100, whatever shape the statistics were taken in.
    /// </summary>
    [Test]
    [CancelAfter(180_000)]
    public async Task KeysInUse_WhenNearlyAllJobsHaveFinished_ReadsOnlyTheKeyedJobsInUse([Values] Shape analyzed, CancellationToken ct)
    {
        var schema = await ShapeAsync(analyzed, Shape.NearlyAllSucceeded, ct);
        await using var dataSource = NpgsqlDataSource.Create(_database);

        var plan = await ExplainAsync(dataSource, PostgresStatements.KeysInUse(schema), PlanKind.Custom, analyze: true, ct);
        TestContext.Out.WriteLine($"analyzed {analyzed}, holds {Shape.NearlyAllSucceeded}: {plan[^1]}");

        FullReads(plan, Rows / 100).Should().BeEmpty($"the keys page seeks the indexes of the jobs in use (analyzed: {analyzed}):{Environment.NewLine}{string.Join(Environment.NewLine, plan)}");
    }

    // Analyzed while the table held one shape; then (autovacuum off for it) emptied and filled with another, unanalyzed.
    private async Task<string> ShapeAsync(Shape analyzed, Shape holds, CancellationToken ct)
    {
        var schema = Server.NewName("plan");
        await FillAsync(_database, schema, analyzed, ct);
        if (holds != analyzed)
        {
            var database = new NpgsqlConnectionStringBuilder(_database).Database!;
            await Server.Instance.ExecuteAsync(
                $"ALTER TABLE {schema}.jobs SET (autovacuum_enabled = false); ALTER TABLE {schema}.job_attempts SET (autovacuum_enabled = false); " +
                $"TRUNCATE {schema}.jobs, {schema}.job_attempts RESTART IDENTITY", database, ct);
            await InsertAsync(_database, schema, holds, ct);
            await Server.Instance.ExecuteAsync($"VACUUM {schema}.jobs", database, ct); // Visibility and size; no statistics.
        }

        return schema;
    }

    // Scans of a table that grows with the jobs which read all of it (a sequential scan, run or not) or, counting the
    // rows their filter removed, more than bound rows over all their loops.
    private static List<string> FullReads(List<string> plan, int bound)
    {
        var found = new List<string>();
        for (var i = 0; i < plan.Count; i++)
        {
            var node = ScanNode().Match(plan[i]);
            if (!node.Success)
            {
                if (SeqScan().IsMatch(plan[i]))
                {
                    found.Add(plan[i].Trim());
                }

                continue;
            }

            long read = long.Parse(node.Groups["rows"].Value, CultureInfo.InvariantCulture);
            for (var j = i + 1; j < plan.Count && !plan[j].Contains("->", StringComparison.Ordinal); j++)
            {
                var removed = RemovedRows().Match(plan[j]);
                read += removed.Success ? long.Parse(removed.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
            }

            read *= long.Parse(node.Groups["loops"].Value, CultureInfo.InvariantCulture);
            if (node.Groups["kind"].Value.EndsWith("Seq Scan", StringComparison.Ordinal) || read > bound)
            {
                found.Add($"{plan[i].Trim()} ({read} rows read)");
            }
        }

        return found;
    }

    /// <summary>The queues claimed in a shape: in the lopsided one, the queue holding nearly all jobs and one holding few.</summary>
    internal static IReadOnlyList<string> QueuesOf(Shape shape) => shape == Shape.NearlyAllInOneQueue ? ["big", "q1"] : ["default"];

    /// <summary>
    /// A store's schema in <paramref name="schema"/> holding <see cref="Rows"/> jobs of <paramref name="shape"/> (and an
    /// attempt row per ten jobs), analyzed.
    /// </summary>
    internal static async Task FillAsync(string connectionString, string schema, Shape shape, CancellationToken ct)
    {
        // The schema as the store creates it: a store opened once.
        await (await Harness.OpenAsync(connectionString, schema, o => o.UseListenNotify = false, cancellationToken: ct)).DisposeAsync();
        await InsertAsync(connectionString, schema, shape, ct);
        await Server.Instance.ExecuteAsync($"ANALYZE {schema}.jobs; ANALYZE {schema}.job_attempts;", new NpgsqlConnectionStringBuilder(connectionString).Database!, ct);
    }

    internal static async Task InsertAsync(string connectionString, string schema, Shape shape, CancellationToken ct)
    {

        // i: 1..Rows. Keys: 100 of them, limit 4 (the keyed burn-down's). Ids are i (a fresh sequence).
        var (queue, state, key) = shape switch
        {
            Shape.AllWaitingWithKeys => ("'default'", "1", "'key' || (i % 100)"),
            Shape.AllWaitingWithoutKeys => ("'default'", "1", "NULL"),
            Shape.NearlyAllSucceeded => ("'default'", "CASE WHEN i % 1000 = 0 THEN 1 WHEN i % 1000 = 1 THEN 2 ELSE 3 END",
                "CASE WHEN i % 2000 < 2 THEN 'key' || (i % 100) END"),
            Shape.NearlyAllInOneQueue => ("CASE WHEN i % 1000 = 0 THEN 'q' || (i / 1000 % 50) ELSE 'big' END", "1",
                "CASE WHEN i % 2 = 0 THEN 'key' || (i % 100) END"),
            Shape.AllRunning => ("'default'", "2", "CASE WHEN i % 2 = 0 THEN 'key' || (i % 100) END"),
            _ => throw new ArgumentOutOfRangeException(nameof(shape)),
        };
        await Server.Instance.ExecuteAsync(
            $"""
            INSERT INTO {schema}.jobs(queue, kind, payload, state, priority, run_at, max_attempts, created_at, concurrency_key, concurrency_limit,
              lease_token, lease_expires_at, started_at, finished_at)
            SELECT queue, 'test', '' || chr(123) || chr(125), state, 0, now() - interval '1 hour' + i * interval '1 millisecond', 5, now() - interval '1 hour', key,
              CASE WHEN key IS NULL THEN 0 ELSE 4 END, CASE WHEN state = 2 THEN 1 END, CASE WHEN state = 2 THEN now() + interval '1 hour' END,
              CASE WHEN state IN (2, 3) THEN now() - interval '1 hour' END, CASE WHEN state = 3 THEN now() - interval '1 hour' END
            FROM (SELECT i, {queue} AS queue, ({state})::smallint AS state, {key} AS key FROM generate_series(1, {Rows}) i) g;
            INSERT INTO {schema}.job_attempts(job_id, attempt, outcome, started_at, finished_at, error_message)
            SELECT i, 1, 'failed', now() - interval '1 hour', now() - interval '1 hour', 'boom' FROM generate_series(10, {Rows}, 10) i;
            """,
            new NpgsqlConnectionStringBuilder(connectionString).Database!, ct);
    }

    /// <summary>
    /// EXPLAIN of a statement, prepared (PREPARE, then EXPLAIN EXECUTE: the plan a prepared statement runs) with the plan
    /// kind forced; with <paramref name="analyze"/>, run (and rolled back) too.
    /// </summary>
    internal static async Task<List<string>> ExplainAsync(NpgsqlDataSource dataSource, PostgresStatements.Statement statement, PlanKind kind, bool analyze, CancellationToken ct)
    {
        var (sql, types, values) = statement.Positional();
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using (var setup = new NpgsqlCommand(
            $"SET plan_cache_mode = {(kind == PlanKind.Generic ? "force_generic_plan" : "force_custom_plan")}; PREPARE planned({types}) AS {sql}", connection))
        {
            await setup.ExecuteNonQueryAsync(ct);
        }

        try
        {
            // The plan is made at EXECUTE, after the settings the store sends first in the same transaction.
            await using var transaction = await connection.BeginTransactionAsync(ct);
            if (statement.Before is { } before)
            {
                await using var settings = new NpgsqlCommand(before, connection, transaction);
                await settings.ExecuteNonQueryAsync(ct);
            }

            await using var explain = new NpgsqlCommand($"EXPLAIN {(analyze ? "(ANALYZE) " : "")}EXECUTE planned({values})", connection, transaction);
            var lines = new List<string>();
            await using (var reader = await explain.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    lines.Add(reader.GetString(0));
                }
            }

            await transaction.RollbackAsync(ct);
            return lines;
        }
        finally
        {
            await using var deallocate = new NpgsqlCommand("DEALLOCATE planned", connection);
            await deallocate.ExecuteNonQueryAsync(ct);
        }
    }

    [GeneratedRegex(@"(?<kind>[A-Za-z ]*Scan)(?: using \w+)? on (?:jobs|job_attempts)\b.*actual time=[\d.]+\.\.[\d.]+ rows=(?<rows>\d+) loops=(?<loops>\d+)")]
    private static partial Regex ScanNode();

    [GeneratedRegex(@"Seq Scan on (?:jobs|job_attempts)\b")]
    private static partial Regex SeqScan();

    [GeneratedRegex(@"Rows Removed by (?:Filter|Index Recheck): (\d+)")]
    private static partial Regex RemovedRows();
}
