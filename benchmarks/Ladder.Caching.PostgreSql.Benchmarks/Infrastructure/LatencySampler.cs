using System.Diagnostics;

namespace Ladder.Caching.PostgreSql.Benchmarks.Infrastructure;

/// <summary>The shared sample loop of part (a): the same steps for every system, so the rows compare.</summary>
internal static class LatencySampler
{
    public const int WarmUp = 100;

    /// <summary>How long one sample may wait for node B before it counts as lost.</summary>
    private static readonly TimeSpan Ceiling = TimeSpan.FromSeconds(10);

    /// <summary>
    /// For each sample: <paramref name="warm"/> (node B reads the key through its cache: a load, because the previous
    /// sample invalidated it), arm the signal, take the time, <paramref name="publish"/> on node A, await node B's
    /// hook, then <paramref name="verify"/> that B no longer serves the cached value. Returns the latencies (ms) of the
    /// samples after the warm-up, and how many were lost (no observation within 10 s) or not verified.
    /// </summary>
    public static async Task<Result> RunAsync(
        int samples,
        Signal signal,
        string? key,
        Func<int, ValueTask> warm,
        Func<int, ValueTask> publish,
        Func<int, ValueTask<bool>> verify)
    {
        var latencies = new List<double>(samples);
        var lost = 0;
        var unverified = 0;
        for (var i = 0; i < samples + WarmUp; i++)
        {
            await warm(i);
            var observed = signal.Arm(key);
            var before = Stopwatch.GetTimestamp();
            await publish(i);
            long at;
            try
            {
                at = await observed.WaitAsync(Ceiling);
            }
            catch (TimeoutException)
            {
                lost++;
                continue;
            }

            if (!await verify(i))
            {
                unverified++;
            }

            if (i >= WarmUp)
            {
                latencies.Add(Stopwatch.GetElapsedTime(before, at).TotalMilliseconds);
            }
        }

        return new Result(latencies, lost, unverified);
    }

    public sealed record Result(IReadOnlyList<double> Latencies, int Lost, int Unverified)
    {
        public double P50 => Report.Percentile(Latencies, 0.50);

        public double P90 => Report.Percentile(Latencies, 0.90);

        public double P99 => Report.Percentile(Latencies, 0.99);

        public double Max => Latencies.Count == 0 ? double.NaN : Latencies.Max();

        public void Row(string name, string publish, string observed) =>
            Console.WriteLine($"| {name} | {publish} | {observed} | {Latencies.Count} | {Report.Ms(P50)} | {Report.Ms(P90)} | {Report.Ms(P99)} | {Report.Ms(Max)} | {Lost} | {Unverified} |");

        public static void TableHeader()
        {
            Console.WriteLine("| system | publish on A | observed on B | samples | p50 ms | p90 ms | p99 ms | max ms | lost | not invalidated |");
            Console.WriteLine("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        }
    }
}
