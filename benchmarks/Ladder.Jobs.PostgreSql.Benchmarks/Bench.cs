using System.Diagnostics;
using System.Globalization;
using Ladder.PostgreSql.Testing;
using Npgsql;

namespace Ladder.Jobs.PostgreSql.Benchmarks;

/// <summary>What every part shares: the server, a database per runner, the load average, percentiles, table rows.</summary>
internal static class Bench
{
    private static int _databases;

    /// <summary>The machine's load average as <c>uptime</c> prints it (1, 5 and 15 minutes).</summary>
    public static string Load()
    {
        var parts = File.ReadAllText("/proc/loadavg").Split(' ');
        return $"load average {parts[0]}, {parts[1]}, {parts[2]}";
    }

    /// <summary>Prints a part's heading: what runs, when, and the load beside it.</summary>
    public static void Heading(string title)
    {
        Console.WriteLine();
        Console.WriteLine($"### {title}");
        Console.WriteLine();
        Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm:ss}Z, {Load()}, {Environment.ProcessorCount} cores");
        Console.WriteLine();
    }

    /// <summary>A fresh database on the server and a data source for it (its own pool).</summary>
    public static async Task<NpgsqlDataSource> DatabaseAsync(PostgresServer server, string name, int maxPool = 100)
    {
        var database = $"{name}_{Interlocked.Increment(ref _databases)}";
        var connectionString = await server.CreateDatabaseAsync(database);
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        builder.ConnectionStringBuilder.MaxPoolSize = maxPool;
        builder.ConnectionStringBuilder.ApplicationName = name;
        builder.ConnectionStringBuilder.NoResetOnClose = Environment.GetEnvironmentVariable("LADDER_BENCH_NO_RESET") == "1";
        return builder.Build();
    }

    /// <summary>The time (UTC) and the load average, the line that ends a part's table.</summary>
    public static string Stamp() => $"{TimeProvider.System.GetUtcNow():HH:mm:ss}Z, {Load()}";

    /// <summary>store-wake's pause between jobs (longer than the 100 ms NOTIFY debounce, so every enqueue is an idle one); wake-idle pauses the same.</summary>
    public static readonly (TimeSpan Min, TimeSpan Max) IdlePause = (TimeSpan.FromMilliseconds(150), TimeSpan.FromMilliseconds(250));

    public static double Rate(long count, TimeSpan elapsed) => count / elapsed.TotalSeconds;

    public static string Ms(double milliseconds) => milliseconds.ToString("F2", CultureInfo.InvariantCulture) + " ms";

    public static double Percentile(List<double> sorted, double p)
    {
        if (sorted.Count == 0)
        {
            return double.NaN;
        }

        var index = (int)Math.Ceiling(p / 100 * sorted.Count) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Count - 1)];
    }

    public static double ElapsedMs(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;

    public static string N(double value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Mb(long bytes) => (bytes / 1024.0 / 1024.0).ToString("F1", CultureInfo.InvariantCulture) + " MB";
}
