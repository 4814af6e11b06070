using Ladder.Caching.PostgreSql.Benchmarks.Infrastructure;
using Ladder.PostgreSql.Testing;

namespace Ladder.Caching.PostgreSql.Benchmarks;

/// <summary>
/// Part (a): cross-node invalidation latency. Node A publishes a change to a key that node B has cached; the time is
/// taken from just before A's publish call to the moment B's hook runs after B applied it (Ladder: B's cache returned
/// from applying the changes the backplane delivered; FusionCache: B's memory-cache event for the key). Each sample
/// then checks that B really stopped serving the cached value. One sample at a time, the next after B re-read the key.
/// </summary>
internal static partial class Latency
{
    /// <summary>The goal from issue #11 (here, on this machine).</summary>
    private const double GoalP50 = 5;
    private const double GoalP99 = 50;

    private static readonly List<(string Name, LatencySampler.Result Result)> Results = [];
    private static readonly List<string> Checks = [];

    public static async Task<int> RunAsync(int samples)
    {
        Report.Header($"(a) cross-node invalidation latency, {samples} samples after {LatencySampler.WarmUp} warm-up, one at a time");
        await using var postgres = await PostgresServer.StartAsync(new PostgresServerOptions { Fsync = true });
        await using var redis = await RedisServer.StartAsync();
        LatencySampler.Result.TableHeader();
        await FloorAsync(postgres, samples);
        await LadderAsync(postgres, samples);
        await FusionCacheAsync(redis, samples);
        Console.WriteLine();
        Console.WriteLine($"  timer reference: {await TimerReferenceAsync()}");
        foreach (var check in Checks)
        {
            Console.WriteLine($"  {check}");
        }

        foreach (var (name, result) in Results.Where(r => r.Name.StartsWith("Ladder", StringComparison.Ordinal)))
        {
            var met = result.P50 <= GoalP50 && result.P99 <= GoalP99;
            Console.WriteLine($"  {name}: goal p50 ≤ {GoalP50} ms, p99 ≤ {GoalP99} ms → {(met ? "met" : "**missed**")}");
        }

        var fusion = Results.FirstOrDefault(r => r.Name == "FusionCache RemoveAsync").Result;
        var floor = Results.FirstOrDefault(r => r.Name == "floor").Result;
        foreach (var (name, result) in Results.Where(r => r.Name.StartsWith("Ladder", StringComparison.Ordinal)))
        {
            if (fusion is not null && floor is not null)
            {
                Console.WriteLine($"  {name}: p50 {result.P50 / floor.P50:F2}× the PostgreSQL floor (+{Report.Ms(result.P50 - floor.P50)} ms), {result.P50 / fusion.P50:F2}× FusionCache RemoveAsync; p99 {result.P99 / floor.P99:F2}× the floor, {result.P99 / fusion.P99:F2}× FusionCache");
            }
        }

        Report.Footer();
        return 0;
    }

    /// <summary>What a 1 ms wait really takes here (the default publish window is one): 200 <c>Task.Delay(1 ms)</c>.</summary>
    private static async Task<string> TimerReferenceAsync()
    {
        var waits = new List<double>(200);
        for (var i = 0; i < 200; i++)
        {
            var before = System.Diagnostics.Stopwatch.GetTimestamp();
            await Task.Delay(TimeSpan.FromMilliseconds(1));
            waits.Add(System.Diagnostics.Stopwatch.GetElapsedTime(before).TotalMilliseconds);
        }

        return $"`Task.Delay(1 ms)` took p50 {Report.Ms(Report.Percentile(waits, 0.5))} ms, p99 {Report.Ms(Report.Percentile(waits, 0.99))} ms on this machine during the run";
    }
}
