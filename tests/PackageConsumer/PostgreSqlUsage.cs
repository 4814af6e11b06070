using Ladder.Caching;
using Npgsql;

/// <summary>
/// Uses Ladder.Caching.PostgreSql through its public API without a database (nothing connects until a cache
/// subscribes or StartAsync is called): options validation and construction. PackageChecks checks its package.
/// </summary>
internal static class PostgreSqlUsage
{
    public static async Task RunAsync(List<string> failures)
    {
        try
        {
            _ = new PostgresBackplane(NpgsqlDataSource.Create("Host=127.0.0.1"), new PostgresBackplaneOptions { Schema = "Not Valid", MaxChangesPerRow = 0 });
            failures.Add("PostgresBackplane accepted invalid options");
        }
        catch (PostgresBackplaneConfigurationException e)
        {
            Check(e.Failures.Count == 2, $"expected 2 option failures, got {e.Failures.Count}", failures);
        }

        // Built without connecting; a cache over it would start listening.
        await using var dataSource = NpgsqlDataSource.Create("Host=127.0.0.1;Database=unused");
        await using var backplane = new PostgresBackplane(dataSource, new PostgresBackplaneOptions { Channel = "consumer" });
        Check(backplane.Position == -1, "a backplane that never started has a position", failures);
        Console.WriteLine("Ladder.Caching.PostgreSql: package and API ok");
    }

    private static void Check(bool condition, string failure, List<string> failures)
    {
        if (!condition)
        {
            failures.Add(failure);
        }
    }
}
