using System.Text.RegularExpressions;
using Ladder.Jobs.Storage.Sqlite;
using Ladder.Jobs.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Ladder.Jobs.Tests.Storage;

/// <summary>
/// The statements of every claim, outcome and rescue seek their indexes whatever statistics the file holds. SQLite's
/// planner weighs indexes by <c>sqlite_stat1</c>, which only an ANALYZE (or a <c>PRAGMA optimize</c>, which SQLite advises
/// running now and then) writes: statistics taken while every job waited with a key made the key walk of each keyed
/// claim a scan of the whole table, and they stay until the next ANALYZE, when the table may hold a million finished
/// jobs (100,000 keyed jobs: 5,598 jobs/s against 41,438).
/// </summary>
public sealed partial class QueryPlanTests : TempFolderTests
{
    public enum Shape
    {
        AllWaitingWithKeys,
        AllWaitingWithoutKeys,
        AllFinished,
        AllRunning,
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task AfterAnalyzeOfAnyShapeOfFile_NoFrequentStatementScansTheJobsTable([Values] Shape shape)
    {
        await using var connection = await AnalyzedFileAsync(shape);

        var scans = new List<string>();
        foreach (var (name, sql) in Ladder.Jobs.Testing.SqliteStatements.Frequent)
        {
            // The table under its own name or an alias ("FROM ladder_jobs j"); a SCAN of a CTE or of json_each is fine. A
            // full read is a SCAN, a walk of the table by rowid range, or an automatic index (built by reading it all).
            var names = Alias().Matches(sql).Select(m => m.Groups[1].Value).Where(a => a is not ("WHERE" or "SET" or "INDEXED")).Append("ladder_jobs").ToHashSet();
            var plan = Plan(connection, sql);
            if (plan.Any(line => names.Any(n => FullRead(line, n))))
            {
                scans.Add($"{name}: {string.Join(" | ", plan)}");
            }
        }

        scans.Should().BeEmpty("every frequent statement seeks an index of ladder_jobs, whatever the statistics say");
    }

    // A health check's and a dashboard's totals: a million finished jobs is a day's retention at 12 jobs/s. Grouped by
    // (queue, state) the read sorts every row (about 0.95 s at a million jobs here); by state alone, in the state index's
    // order, it reads that index only (about 0.07 s).
    [Test]
    [CancelAfter(120_000)]
    public async Task AfterAnalyzeOfAnyShapeOfFile_TheTotalsByStateReadOnlyTheStateIndex_InItsOrder([Values] Shape shape)
    {
        await using var connection = await AnalyzedFileAsync(shape);

        Plan(connection, SqliteJobStore.StateTotals).Should().Equal("SCAN ladder_jobs USING COVERING INDEX ladder_jobs_state");
    }

    // A file of 4,000 jobs all in one shape, analyzed: the statistics an ANALYZE (or PRAGMA optimize) writes then.
    private async Task<SqliteConnection> AnalyzedFileAsync(Shape shape)
    {
        var path = Folder.File("jobs.db");
        await using (var queue = JobQueue.Open(TestOptions.For(path)))
        {
            var keyed = shape == Shape.AllWaitingWithKeys;
            for (var start = 0; start < 4_000; start += 1_000)
            {
                await queue.EnqueueBatchAsync([.. Enumerable.Range(start, 1_000).Select(i =>
                    JobRequest.For(new Echo(i), keyed ? new JobOptions { ConcurrencyKey = "key" + (i % 40), ConcurrencyLimit = 4 } : null))]);
            }
        }

        var connection = new SqliteConnection($"Data Source={path};Pooling=false");
        await connection.OpenAsync();
        if (shape == Shape.AllFinished)
        {
            Execute(connection, "UPDATE ladder_jobs SET state = 3, finished_at = 1;");
        }
        else if (shape == Shape.AllRunning)
        {
            Execute(connection, "UPDATE ladder_jobs SET state = 2, lease_token = 1, lease_expires_at = 1;");
        }

        Execute(connection, "ANALYZE;");
        return connection;
    }

    private static bool FullRead(string line, string table) =>
        line == "SCAN " + table || line.StartsWith("SCAN " + table + " ", StringComparison.Ordinal) ||
        (line.StartsWith("SEARCH " + table + " ", StringComparison.Ordinal) && (line.Contains("(rowid>", StringComparison.Ordinal) ||
            line.Contains("(rowid<", StringComparison.Ordinal) || line.Contains("AUTOMATIC", StringComparison.Ordinal)));

    private static List<string> Plan(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + sql;
        foreach (Match p in Parameter().Matches(sql).DistinctBy(m => m.Value))
        {
            // json_each needs a JSON array; every other parameter may be any value for the plan.
            command.Parameters.AddWithValue(p.Value, sql.Contains($"json_each({p.Value})", StringComparison.Ordinal) ? "[]" : 1);
        }

        var lines = new List<string>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            lines.Add(reader.GetString(3));
        }

        return lines;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    [GeneratedRegex(@"[@$]\w+")]
    private static partial Regex Parameter();

    [GeneratedRegex(@"ladder_jobs\s+(?:AS\s+)?(\w+)")]
    private static partial Regex Alias();
}
