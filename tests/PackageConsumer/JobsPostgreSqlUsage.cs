using Ladder.Jobs;
using Npgsql;

/// <summary>
/// Uses Ladder.Jobs.PostgreSql through its public API without a database (nothing connects until a queue opens the
/// store): options validation, the one-line switch, construction. PackageChecks checks its package.
/// </summary>
internal static class JobsPostgreSqlUsage
{
    public static async Task RunAsync(List<string> failures)
    {
        try
        {
            _ = new PostgresJobStore("Host=127.0.0.1", new PostgresJobStoreOptions { Schema = "Not Valid", MaxWriteBatch = 0 });
            failures.Add("PostgresJobStore accepted invalid options");
        }
        catch (LadderJobsOptionsException e)
        {
            Check(e.Failures.Count == 2, $"expected 2 option failures, got {e.Failures.Count}", failures);
        }

        await using var dataSource = NpgsqlDataSource.Create("Host=127.0.0.1;Database=unused");
        var options = new LadderJobsOptions().UsePostgres(dataSource, o => o.Schema = "consumer_jobs");
        Check(options.Path.Length == 0, "UsePostgres set a SQLite path", failures);
        await using var store = new PostgresJobStore(dataSource, new PostgresJobStoreOptions { Schema = "consumer_jobs" });
        Check(store.Location == "postgresql://127.0.0.1:5432/unused (schema consumer_jobs)", $"unexpected location {store.Location}", failures);
        Console.WriteLine("Ladder.Jobs.PostgreSql: package and API ok");
    }

    private static void Check(bool condition, string failure, List<string> failures)
    {
        if (!condition)
        {
            failures.Add(failure);
        }
    }
}
