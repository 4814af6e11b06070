#if !LADDER_PG
using Ladder.Caching.PostgreSql.Benchmarks.Infrastructure;
using Ladder.PostgreSql.Testing;
using Npgsql;

namespace Ladder.Caching.PostgreSql.Benchmarks;

// Built without src/Ladder.Caching.PostgreSql (the pgcache branch not merged yet): the Ladder rows say so.
internal static partial class Latency
{
    private static Task LadderAsync(PostgresServer postgres, int samples)
    {
        Console.WriteLine("| Ladder.Caching.PostgreSql | - | - | - | - | - | - | - | - | not built: package missing |");
        return Task.CompletedTask;
    }
}

internal static partial class Throughput
{
    private static IEnumerable<Func<Task<IPublishMode>>> Modes(string connectionString, NpgsqlDataSource dataSource)
    {
        Console.WriteLine("| Ladder.Caching.PostgreSql | not built: package missing | | | | | | |");
        return [() => Task.FromResult<IPublishMode>(new RawNotifyMode(dataSource))];
    }
}

internal static partial class Disconnect
{
    private static Task<Outcome> LadderAsync(PostgresServer postgres) =>
        Task.FromResult(new Outcome("Ladder.Caching.PostgreSql", "not built: package missing", 0, 0, 0, double.NaN, -1, "package missing"));
}
#endif
