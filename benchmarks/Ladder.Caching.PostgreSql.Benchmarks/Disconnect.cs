using System.Diagnostics;
using Ladder.Caching.PostgreSql.Benchmarks.Infrastructure;
using Ladder.PostgreSql.Testing;

namespace Ladder.Caching.PostgreSql.Benchmarks;

/// <summary>
/// Part (c), both systems: a reader node caches 100 keys; it is disconnected for 5 s (its server-side sessions killed,
/// and the relay it reaches the server through refusing every reconnect until the 5 s are over) while the writer
/// changes the 100 keys and publishes each change; then the reader reconnects, settles (a probe published by the
/// writer after the reconnect has reached it), and reads the 100 keys through its cache, then again 7 s later (FusionCache's
/// auto-recovery delay and 2 s more). A key is stale when the
/// reader returns a value older than the writer's last write.
/// </summary>
internal static partial class Disconnect
{
    private const int Keys = 100;
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(5);

    /// <summary>The 100 writes are spread over the first 4 s of the outage, so all of them happen while the reader is away.</summary>
    private static readonly TimeSpan PublishSpacing = TimeSpan.FromMilliseconds(40);

    /// <summary>
    /// The keys are read again this long after the first count, in case something replays late: FusionCache's
    /// auto-recovery waits <see cref="ZiggyCreatures.Caching.Fusion.FusionCacheOptions.AutoRecoveryDelay"/> (5 s by
    /// default) after a reconnect before it processes its queue; 2 s more on top.
    /// </summary>
    private static readonly TimeSpan SettleGrace = new ZiggyCreatures.Caching.Fusion.FusionCacheOptions().AutoRecoveryDelay + TimeSpan.FromSeconds(2);

    /// <summary>How long the reader gets to come back and deliver the probe before the run gives up.</summary>
    private static readonly TimeSpan SettleCeiling = TimeSpan.FromSeconds(60);

    public static async Task<int> RunAsync()
    {
        Report.Header($"(c) disconnect: a reader cut off for {Outage.TotalSeconds:F0} s while the writer publishes {Keys} changes to {Keys} keys it had cached");
        await using var postgres = await PostgresServer.StartAsync(new PostgresServerOptions { Fsync = true });
        await using var redis = await RedisServer.StartAsync();
        var outcomes = new List<Outcome>
        {
            await LadderAsync(postgres),
            await FusionCacheAsync(redis),
        };
        Console.WriteLine($"| system | how the reader was disconnected | changes published while cut | applied by the reader while cut | reconnect refused by the relay | restore → probe received | stale keys after settle (of 100) | stale keys {SettleGrace.TotalSeconds:F0} s later |");
        Console.WriteLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var o in outcomes)
        {
            Console.WriteLine($"| {o.System} | {o.How} | {o.Published} | {o.AppliedDuringCut} | {o.Refused} | {Report.Ms(o.SettleMs)} ms | **{o.Stale}** | **{o.StaleLater}** |");
        }

        foreach (var o in outcomes.Where(o => o.Notes.Length > 0))
        {
            Console.WriteLine($"  {o.System}: {o.Notes}");
        }

        Report.Footer();
        return 0;
    }

    /// <summary>The writer's side of the outage: write and publish each key, spaced over the first 4 s; then wait out the 5 s.</summary>
    private static async Task<int> PublishDuringOutageAsync(Stopwatch outage, long[] database, Func<int, ValueTask> publish)
    {
        for (var i = 0; i < Keys; i++)
        {
            Interlocked.Increment(ref database[i]);
            await publish(i);
            var due = PublishSpacing * (i + 1);
            if (due > outage.Elapsed)
            {
                await Task.Delay(due - outage.Elapsed);
            }
        }

        if (outage.Elapsed < Outage)
        {
            await Task.Delay(Outage - outage.Elapsed);
        }

        return Keys;
    }

    private static string Key(int i) => $"item:{i}";

    private sealed record Outcome(string System, string How, int Published, int AppliedDuringCut, int Refused, double SettleMs, int Stale, int StaleLater, string Notes);
}
