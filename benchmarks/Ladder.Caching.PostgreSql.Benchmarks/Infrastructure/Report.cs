using System.Globalization;

namespace Ladder.Caching.PostgreSql.Benchmarks.Infrastructure;

/// <summary>Markdown output: percentiles, rates and the machine's load beside every run.</summary>
internal static class Report
{
    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        // Nearest rank: the smallest value with at least p of the samples at or below it.
        var rank = (int)Math.Ceiling(p * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }

    /// <summary>The load averages (1, 5, 15 min) as <c>uptime</c> prints them.</summary>
    public static string LoadAverage()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return $"load average: {parts[0]}, {parts[1]}, {parts[2]}";
        }
        catch (IOException)
        {
            return "load average: unknown";
        }
    }

    public static void Header(string title)
    {
        Console.WriteLine();
        Console.WriteLine($"### {title}");
        Console.WriteLine($"{DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss} UTC, {Environment.ProcessorCount} cores, {LoadAverage()} (at start)");
        Console.WriteLine();
    }

    public static void Footer() => Console.WriteLine($"({LoadAverage()} at end)");

    public static string Ms(double value) => value.ToString("F2", CultureInfo.InvariantCulture);

    public static string N(double value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
