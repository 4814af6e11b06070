using System.Collections.Concurrent;
using System.Globalization;

namespace Ladder.Jobs.MultiHost.Tests.Support;

/// <summary>
/// One chaos run: enqueues the jobs, starts the nodes, and while they work kills a random node with SIGKILL and
/// restarts it (and injects the store's server faults) at evenly spread points of the progress, at least
/// <see cref="ChaosPlan.MinSpacing"/> apart; once every job succeeded, stops the nodes gracefully.
/// </summary>
internal static class ChaosRun
{
    private static readonly TimeProvider Time = TimeProvider.System;

    /// <summary>Now as Unix nanoseconds: the nodes stamp their log lines the same way, from the same clock.</summary>
    public static long UnixNs() => (Time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;

    public static async Task<ChaosRecord> RunAsync(ChaosStore store, ChaosPlan plan, string folder, int seed, CancellationToken ct)
    {
        var random = new Random(seed);
        var record = new ChaosRecord(plan, seed);
        await EnqueueAsync(store, plan, record, ct);

        // The schedule: kill k at progress k/(kills+1), the server faults at their own points, in progress order.
        var schedule = Enumerable.Range(1, plan.Kills).Select(k => ((double)k / (plan.Kills + 1), (Disruption?)null))
            .Concat(store.Disruptions.Select(d => (d.AtProgress, (Disruption?)d)))
            .OrderBy(e => e.Item1)
            .ToList();

        var snapshots = new List<Task>();
        var slots = new NodeProcess?[plan.Nodes];
        var ready = new Task[plan.Nodes];
        var incarnations = new int[plan.Nodes];
        void StartNode(int slot)
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"n{slot + 1}.{++incarnations[slot]}");
            var node = NodeProcess.Start(name, Path.Combine(folder, name + ".log"), [.. store.NodeArgumentsFor(slot), .. plan.NodeArguments()], record.Stderr.Enqueue);
            record.Incarnations.Add(new Incarnation(name, node.LogPath, node.Pid));
            slots[slot] = node;
            ready[slot] = node.WaitReadyAsync(ct);
        }

        try
        {
            for (var s = 0; s < plan.Nodes; s++)
            {
                StartNode(s);
            }

            await Task.WhenAll(ready);
            var began = Time.GetTimestamp();
            var lastEvent = began;
            var next = 0;
            long succeeded = 0;
            while (true)
            {
                succeeded = await ReadSucceededAsync(store, succeeded, ct);
                if (next < schedule.Count && succeeded >= schedule[next].Item1 * plan.Jobs && Time.GetElapsedTime(lastEvent) >= plan.MinSpacing)
                {
                    if (schedule[next].Item2 is { } disruption)
                    {
                        var at = UnixNs();
                        var line = await disruption.RunAsync(ct);
                        record.Disruptions.Add((disruption.Name, at, UnixNs(), line));
                    }
                    else
                    {
                        // A node restarted by the previous kill may still be starting: it is killed only once it runs,
                        // so every kill hits a node that had claimed work.
                        var slot = random.Next(plan.Nodes);
                        await ready[slot];
                        var victim = slots[slot]!;
                        var requested = UnixNs();
                        await victim.KillAsync(ct);
                        var died = UnixNs();
                        var incarnation = record.Incarnations.Single(i => i.Name == victim.Name);
                        incarnation.KillRequested = requested;
                        incarnation.Died = died;
                        record.KillProgress.Add(succeeded);
                        snapshots.Add(SnapshotLeasesAsync(store, incarnation, ct));
                        victim.Dispose();
                        // Restarted at once, in the background: the chaos goes on while it starts, as in a real fleet.
                        StartNode(slot);
                    }

                    lastEvent = Time.GetTimestamp();
                    next++;
                    continue;
                }

                if (succeeded >= plan.Jobs)
                {
                    break;
                }

                // Pacing the orchestrator's reads, not waiting for an effect: the loop ends on the store's count.
                await Task.Delay(TimeSpan.FromMilliseconds(100), Time, ct);
            }

            record.Elapsed = Time.GetElapsedTime(began);
            await Task.WhenAll(snapshots);
            record.ScheduleDone = next;
            record.ScheduleLength = schedule.Count;
            await Task.WhenAll(ready);
            for (var s = 0; s < plan.Nodes; s++)
            {
                var node = slots[s]!;
                using var ceiling = CancellationTokenSource.CreateLinkedTokenSource(ct);
                ceiling.CancelAfter(TimeSpan.FromSeconds(60));
                record.ExitCodes[node.Name] = await node.StopAsync(ceiling.Token);
            }
        }
        finally
        {
            foreach (var node in slots)
            {
                node?.Dispose();
            }
        }

        return record;
    }

    // The killed node's leases as it left them, for the analysis's "kill to lease expiry". Read a second after the kill,
    // not at once: a heartbeat the node sent just before it died may still commit (its server session outlives it), and
    // the leases it extends are the ones the rescue waits for. A second is far below the lease, so none is rescued yet.
    // A read that fails (the server restarting) is tried again; none left it unmeasured.
    private static async Task SnapshotLeasesAsync(ChaosStore store, Incarnation incarnation, CancellationToken ct)
    {
        for (var attempt = 0; attempt < 10; attempt++)
        {
            // Pacing a measurement, not waiting for an effect.
            await Task.Delay(TimeSpan.FromSeconds(1), Time, ct);
            try
            {
                incarnation.LeasesAfterKill = await store.ReadLeaseExpiriesAsync(ct);
                incarnation.LeasesReadAt = UnixNs();
                return;
            }
            catch (Exception ex) when (store.IsTransient(ex) || ex is Microsoft.Data.Sqlite.SqliteException)
            {
            }
        }
    }

    private static async Task EnqueueAsync(ChaosStore store, ChaosPlan plan, ChaosRecord record, CancellationToken ct)
    {
        for (var start = 0; start < plan.Jobs; start += 500)
        {
            var batch = Enumerable.Range(start, Math.Min(500, plan.Jobs - start))
                .Select(i => new JobRequest("chaos-job", string.Create(CultureInfo.InvariantCulture, $"{{\"Number\":{i}}}"), new JobOptions { UniqueKey = string.Create(CultureInfo.InvariantCulture, $"chaos-{i}") }))
                .ToList();
            foreach (var result in await store.Queue.EnqueueBatchAsync(batch, ct))
            {
                result.Inserted.Should().BeTrue("the store is fresh");
                record.JobIds.Add(result.JobId);
            }
        }
    }

    private static async Task<long> ReadSucceededAsync(ChaosStore store, long last, CancellationToken ct)
    {
        try
        {
            var counts = await store.Queue.GetCountsAsync(ct);
            return counts.Where(c => c.State == JobState.Succeeded).Sum(c => c.Count);
        }
        catch (Exception ex) when (store.IsTransient(ex))
        {
            // The server is being restarted on purpose: read again at the next tick.
            return last;
        }
    }
}

/// <summary>A node incarnation: its name and log, and when it was killed (Unix ns), if it was.</summary>
internal sealed class Incarnation(string name, string logPath, int pid)
{
    public string Name { get; } = name;

    public string LogPath { get; } = logPath;

    public int Pid { get; } = pid;

    /// <summary>Just before the SIGKILL: the start of the rescue time.</summary>
    public long? KillRequested { get; set; }

    /// <summary>Once the process was seen dead: the end of every run of it that has no end line.</summary>
    public long? Died { get; set; }

    /// <summary>The running jobs' lease expiries (Unix ns) read soon after the kill: those of this node's runs are where its leases ran out.</summary>
    public IReadOnlyDictionary<long, long>? LeasesAfterKill { get; set; }

    /// <summary>When <see cref="LeasesAfterKill"/> was read (Unix ns).</summary>
    public long? LeasesReadAt { get; set; }
}

/// <summary>What happened in a run, for the analysis.</summary>
internal sealed class ChaosRecord(ChaosPlan plan, int seed)
{
    public ChaosPlan Plan { get; } = plan;

    public int Seed { get; } = seed;

    public List<long> JobIds { get; } = [];

    public List<Incarnation> Incarnations { get; } = [];

    public List<long> KillProgress { get; } = [];

    /// <summary>The server faults: when each began and ended (Unix ns; a restart is an outage from one to the other).</summary>
    public List<(string Name, long At, long End, string Line)> Disruptions { get; } = [];

    /// <summary>The store's record of the jobs that ran more than once (their rescues and last claim), read after the run.</summary>
    public Dictionary<long, JobDetails> StoreJobs { get; } = [];

    public Dictionary<string, int> ExitCodes { get; } = new(StringComparer.Ordinal);

    public ConcurrentQueue<string> Stderr { get; } = new();

    public TimeSpan Elapsed { get; set; }

    public int ScheduleDone { get; set; }

    public int ScheduleLength { get; set; }
}
