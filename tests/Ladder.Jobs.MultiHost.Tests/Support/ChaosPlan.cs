using System.Globalization;

namespace Ladder.Jobs.MultiHost.Tests.Support;

/// <summary>How big a chaos run is, and the nodes' intervals.</summary>
internal sealed record ChaosPlan
{
    public required int Jobs { get; init; }

    public required int Kills { get; init; }

    public int Nodes { get; init; } = 3;

    /// <summary>Least time between two disruptions (kills, server faults): "every few seconds".</summary>
    public TimeSpan MinSpacing { get; init; } = TimeSpan.FromSeconds(1.5);

    // Lease 5 s with a heartbeat every second: four seconds of slack before a live node's lease could expire, so a
    // heartbeat delayed by a starved thread pool on the busy 2-core machine is not mistaken for a dead node.
    public TimeSpan Lease { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan Heartbeat { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan Rescue { get; init; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan Poll { get; init; } = TimeSpan.FromMilliseconds(200);

    public int Concurrency { get; init; } = 4;

    public int Prefetch { get; init; } = 8;

    // 50 ms a run (a few of hashing, the rest a wait, like a call to another service): 12 slots then run about 200
    // jobs a second on either store, so 10,000 jobs last long enough for 20 kills a couple of seconds apart. With a few
    // milliseconds the store sets the pace and the jobs run out before the kills do.
    public TimeSpan Work { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Allowed on top of lease + rescue interval between a kill and the next start of a job it cut: the poll and the
    /// claim, the free slot, and a starved machine. Generous on purpose; the measured maximum is printed.
    /// </summary>
    public TimeSpan RescueSlack { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan RescueBound => Lease + Rescue + RescueSlack;

    /// <summary>
    /// Allowed on top of lease + rescue interval between a kill and the store's rescue of the leases it left (issue
    /// #10's guarantee): the rescue statement's own time and the late timers of a starved machine (three nodes, the
    /// server and the orchestrator on two cores). Unlike <see cref="RescueSlack"/> it covers no claim, no free slot,
    /// no other kill: the rescue of a dead node's lease depends on none of them.
    /// </summary>
    public TimeSpan StoreRescueTolerance { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan StoreRescueBound => Lease + Rescue + StoreRescueTolerance;

    public IEnumerable<string> NodeArguments()
    {
        static string Ms(TimeSpan t) => ((long)t.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        static string N(int n) => n.ToString(CultureInfo.InvariantCulture);
        return
        [
            "--lease-ms", Ms(Lease), "--heartbeat-ms", Ms(Heartbeat), "--rescue-ms", Ms(Rescue), "--poll-ms", Ms(Poll),
            "--concurrency", N(Concurrency), "--prefetch", N(Prefetch), "--work-ms", Ms(Work),
        ];
    }

    /// <summary>
    /// The Soak size: LADDER_SOAK_SCALE=full is the run (10,000 jobs, 20 kills); ci (or unset) a bounded run of
    /// a few minutes at most; a number is that many jobs with proportionally many kills.
    /// </summary>
    public static ChaosPlan Soak()
    {
        var scale = Environment.GetEnvironmentVariable("LADDER_SOAK_SCALE");
        if (string.Equals(scale, "full", StringComparison.OrdinalIgnoreCase))
        {
            return new ChaosPlan { Jobs = 10_000, Kills = 20 };
        }

        if (int.TryParse(scale, NumberStyles.None, CultureInfo.InvariantCulture, out var jobs) && jobs > 0)
        {
            return new ChaosPlan { Jobs = jobs, Kills = Math.Clamp(jobs / 500, 1, 50) };
        }

        return new ChaosPlan { Jobs = 3_000, Kills = 8 };
    }
}

/// <summary>A fault of the store's server, done once at a point of the run's progress.</summary>
/// <param name="Name">For the report.</param>
/// <param name="AtProgress">When: the fraction of jobs succeeded (0..1).</param>
/// <param name="RunAsync">Does it; returns a line for the report.</param>
internal sealed record Disruption(string Name, double AtProgress, Func<CancellationToken, Task<string>> RunAsync);
