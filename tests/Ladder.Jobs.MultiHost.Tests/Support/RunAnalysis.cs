using System.Globalization;
using System.Text.RegularExpressions;

namespace Ladder.Jobs.MultiHost.Tests.Support;

/// <summary>One handler run, from a node's log: its start and, unless its node died first, its end (Unix ns).</summary>
internal sealed record Run(Incarnation Host, long JobId, int Attempt, long Start, long? End)
{
    /// <summary>When the run stopped: its end line, or the death of its node.</summary>
    public long EffectiveEnd => End ?? Host.Died ?? long.MaxValue;
}

/// <summary>
/// A job cut by a kill and run again, its time split where the store saw it: the kill, the expiry of the lease the
/// killed node left, the store's rescue of it (its attempt row 'rescued' or 'released'), the claim of the run that
/// followed (the job's last claim only), that run's start. Unmeasured parts are null (no store record, or a later claim).
/// </summary>
internal sealed record Rerun(long JobId, string Killed, string Next, TimeSpan ToStart, TimeSpan? ToExpiry, TimeSpan? ToRescue, TimeSpan? ToClaim, int OtherKills, TimeSpan Outage)
{
    public TimeSpan? ExpiryToRescue => ToRescue - ToExpiry;

    public TimeSpan? RescueToClaim => ToClaim - ToRescue;

    public TimeSpan? ClaimToStart => ToStart - ToClaim;

    public override string ToString()
    {
        static string S(TimeSpan? t) => t is { } v ? v.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture) : "?";
        return string.Create(CultureInfo.InvariantCulture,
            $"job {JobId} ({Killed} -> {Next}): kill +{S(ToExpiry)} s lease expiry +{S(ExpiryToRescue)} s rescue +{S(RescueToClaim)} s claim +{S(ClaimToStart)} s start = {S(ToStart)} s; {OtherKills} other kills meanwhile, {S(Outage)} s of server outage");
    }
}

/// <summary>The checks of a chaos run, from the nodes' fsynced logs, and the figures of its summary.</summary>
internal sealed partial class RunAnalysis
{
    private RunAnalysis(ChaosRecord record) => Record = record;

    public ChaosRecord Record { get; }

    public List<Run> Runs { get; } = [];

    /// <summary>Every broken guarantee, as a sentence naming the job and hosts.</summary>
    public List<string> Violations { get; } = [];

    /// <summary>Runs beyond one per job.</summary>
    public int Duplicates { get; private set; }

    /// <summary>Runs with a start and no end, on a killed node: the handlers in flight at the kills.</summary>
    public int CutRuns { get; private set; }

    /// <summary>Runs that ended on a node killed before their success committed, and so ran again.</summary>
    public int EndedNotCommitted { get; private set; }

    /// <summary>Re-runs after the kill of the node that had run the job: its lease expired while that node was dead.</summary>
    public int AfterKills { get; private set; }

    /// <summary>Re-runs after a run whose live node logged that it lost the lease (warning 3021 naming the job and attempt).</summary>
    public int AfterLostLeases { get; private set; }

    /// <summary>Per kill, in order: the killed node, its runs in flight (started, not ended), and the jobs it had run that ran again.</summary>
    public List<(Incarnation Host, int InFlight, int RanAgain)> Kills { get; } = [];

    /// <summary>Per node incarnation: the (job, attempt) runs it said it lost the lease of.</summary>
    public Dictionary<string, HashSet<(long JobId, int Attempt)>> LostLeases { get; } = new(StringComparer.Ordinal);

    /// <summary>Per re-run: the kill of the node that had run the job to the job's next start.</summary>
    public List<TimeSpan> RescueTimes { get; } = [];

    /// <summary>Per re-run after a kill: its time, split where the store saw it.</summary>
    public List<Rerun> Reruns { get; } = [];

    /// <summary>Per re-run whose rescue the store recorded: the kill to that rescue (issue #10's guarantee: lease + rescue interval).</summary>
    public List<TimeSpan> StoreRescueTimes { get; } = [];

    /// <summary>The store's rescue times past <see cref="ChaosPlan.StoreRescueBound"/>, allowed because the server was down (restarting) for that long meanwhile.</summary>
    public List<TimeSpan> OutageRescueTimes { get; } = [];

    /// <summary>The rescue times past the one-kill bound, allowed because another node was killed meanwhile (it may have held the rescued job, claimed ahead).</summary>
    public List<TimeSpan> ChainedRescueTimes { get; } = [];

    public static RunAnalysis Of(ChaosRecord record)
    {
        var analysis = new RunAnalysis(record);
        analysis.ReadLogs();
        analysis.ReadLostLeases();
        analysis.Check();
        return analysis;
    }

    private void ReadLogs()
    {
        foreach (var host in Record.Incarnations)
        {
            if (!File.Exists(host.LogPath))
            {
                continue;
            }

            var open = new Dictionary<long, (int Attempt, long Start)>();
            foreach (var line in File.ReadLines(host.LogPath))
            {
                var parts = line.Split(' ');
                if (parts.Length != 5 || parts[1] != host.Name)
                {
                    Violations.Add($"{host.Name}: a malformed log line '{line}'");
                    continue;
                }

                var id = long.Parse(parts[2], CultureInfo.InvariantCulture);
                var attempt = int.Parse(parts[3], CultureInfo.InvariantCulture);
                var at = long.Parse(parts[4], CultureInfo.InvariantCulture);
                if (parts[0] == "start")
                {
                    if (open.ContainsKey(id))
                    {
                        Violations.Add($"job {id} started twice on {host.Name} without an end between");
                    }

                    open[id] = (attempt, at);
                }
                else if (parts[0] == "end" && open.Remove(id, out var started))
                {
                    Runs.Add(new Run(host, id, started.Attempt, started.Start, at));
                }
                else
                {
                    Violations.Add($"{host.Name}: '{line}' matches no start");
                }
            }

            foreach (var (id, started) in open)
            {
                Runs.Add(new Run(host, id, started.Attempt, started.Start, End: null));
            }
        }
    }

    // The nodes' stderr (warnings and worse, each line prefixed "<name> (pid <n>): " by NodeProcess): the message of
    // Ladder.Jobs' warning 3021 names the job and attempt whose lease the live node lost to another node's rescue.
    private void ReadLostLeases()
    {
        foreach (var line in Record.Stderr)
        {
            if (LostLeaseLine().Match(line) is { Success: true } m)
            {
                var host = m.Groups["host"].Value;
                if (!LostLeases.TryGetValue(host, out var runs))
                {
                    LostLeases[host] = runs = [];
                }

                runs.Add((long.Parse(m.Groups["id"].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups["attempt"].Value, CultureInfo.InvariantCulture)));
            }
        }
    }

    private bool NamedLostLease(Run run) => LostLeases.TryGetValue(run.Host.Name, out var runs) && runs.Contains((run.JobId, run.Attempt));

    [GeneratedRegex(@"^(?<host>\S+) \(pid \d+\): .*Job (?<id>\d+) \([^,]*, attempt (?<attempt>\d+)\) lost its lease while this process held it", RegexOptions.CultureInvariant)]
    private static partial Regex LostLeaseLine();

    private void Check()
    {
        var ids = Record.JobIds.ToHashSet();
        foreach (var run in Runs.Where(r => !ids.Contains(r.JobId)))
        {
            Violations.Add($"{run.Host.Name} ran job {run.JobId}, which was never enqueued");
        }

        foreach (var run in Runs.Where(r => r.End is null))
        {
            if (run.Host.Died is null)
            {
                Violations.Add($"job {run.JobId} started on {run.Host.Name} and never ended, and that node was not killed");
            }
        }

        CutRuns = Runs.Count(r => r.End is null && r.Host.Died is not null);
        var ranAgain = new Dictionary<Incarnation, int>();
        Duplicates = Runs.Count - Runs.Select(r => r.JobId).Distinct().Count();
        var byJob = Runs.GroupBy(r => r.JobId).ToDictionary(g => g.Key, g => g.OrderBy(r => r.Start).ToList());
        foreach (var id in Record.JobIds)
        {
            if (!byJob.TryGetValue(id, out var runs))
            {
                Violations.Add($"job {id} never ran");
                continue;
            }

            if (runs[^1].End is null)
            {
                Violations.Add($"job {id}: its last run (on {runs[^1].Host.Name}) has no end, yet the store says it succeeded");
            }

            for (var i = 0; i + 1 < runs.Count; i++)
            {
                var (earlier, later) = (runs[i], runs[i + 1]);
                // Sorted by start, so checking each run against the one before it covers every pair (the intervals
                // before it all ended before it began, or this check failed already for an earlier pair).
                if (later.Start < earlier.EffectiveEnd)
                {
                    Violations.Add($"job {id} ran on {later.Host.Name} from {later.Start} while its run on {earlier.Host.Name} ({earlier.Start}..{earlier.End?.ToString(CultureInfo.InvariantCulture) ?? "its node's death"}) had not stopped");
                }

                // A duplicate the issue allows: the lease expired while its node was dead (the re-run came after the kill),
                // or the node, alive, lost the lease and said so (warning 3021). Nothing else.
                if (earlier.Host.KillRequested is not { } killed || later.Start < killed)
                {
                    if (NamedLostLease(earlier))
                    {
                        AfterLostLeases++;
                    }
                    else if (earlier.Host.KillRequested is null)
                    {
                        Violations.Add($"job {id} ran again on {later.Host.Name} after its run on {earlier.Host.Name}, which was never killed (a duplicate with no kill) and logged no lost lease of it");
                    }
                    else
                    {
                        Violations.Add($"job {id} ran again on {later.Host.Name} before {earlier.Host.Name}, which had run it, was killed, and {earlier.Host.Name} logged no lost lease of it");
                    }

                    continue;
                }

                AfterKills++;
                ranAgain[earlier.Host] = ranAgain.GetValueOrDefault(earlier.Host) + 1;

                if (earlier.End is not null)
                {
                    EndedNotCommitted++;
                }

                var rescue = TimeSpan.FromTicks((later.Start - killed) / 100);
                // Another node killed meanwhile may have claimed the rescued job ahead (prefetch) and died holding it:
                // then the job waited for that node's lease too. Each such kill allows one more lease + rescue interval.
                var chained = Record.Incarnations.Count(i => i.KillRequested > killed && i.KillRequested < later.Start);
                var bound = Record.Plan.RescueBound + (chained * (Record.Plan.Lease + Record.Plan.Rescue));
                RescueTimes.Add(rescue);
                if (rescue > Record.Plan.RescueBound && rescue <= bound)
                {
                    ChainedRescueTimes.Add(rescue);
                }

                if (rescue > bound)
                {
                    Violations.Add($"job {id} cut by the kill of {earlier.Host.Name} started again only {rescue.TotalSeconds:F1} s later (bound {bound.TotalSeconds:F1} s, {chained} other kills meanwhile)");
                }

                CheckStoreRescue(id, earlier, later, killed, rescue, chained, later == runs[^1]);
            }
        }

        foreach (var host in Record.Incarnations.Where(i => i.KillRequested is not null).OrderBy(i => i.KillRequested))
        {
            Kills.Add((host, Runs.Count(r => r.Host == host && r.End is null), ranAgain.GetValueOrDefault(host)));
        }
    }

    private static long UnixNs(DateTimeOffset t) => (t - DateTimeOffset.UnixEpoch).Ticks * 100;

    private static TimeSpan Ns(long ns) => TimeSpan.FromTicks(ns / 100);

    // The store's side of a re-run after a kill: the lease the killed node left (read soon after the kill), and the
    // store's first rescue of the job after the cut run began (a later one is a chain: the job, rescued, was claimed
    // ahead by another node that died too). The guarantee is on that first rescue: lease + rescue interval after the
    // kill at most, plus the tolerance, plus any time the server was down in between (no host can rescue then).
    private void CheckStoreRescue(long id, Run earlier, Run later, long killed, TimeSpan toStart, int chained, bool lastRun)
    {
        var outage = TimeSpan.Zero;
        TimeSpan? toExpiry = null, toRescue = null, toClaim = null;
        if (Record.StoreJobs.TryGetValue(id, out var details))
        {
            var rescuedAt = details.Attempts
                .Where(a => a.Outcome is "rescued" or "released")
                .Select(a => UnixNs(a.FinishedAt))
                .Where(t => t > earlier.Start && t <= later.Start)
                .Order()
                .Cast<long?>()
                .FirstOrDefault();
            if (rescuedAt is { } at)
            {
                toRescue = Ns(at - killed);
                outage = Ns(Record.Disruptions.Where(d => d.End > d.At).Sum(d => Math.Max(0, Math.Min(d.End, at) - Math.Max(d.At, killed))));
                var bound = Record.Plan.StoreRescueBound + outage;
                StoreRescueTimes.Add(toRescue.Value);
                if (toRescue > Record.Plan.StoreRescueBound && toRescue <= bound)
                {
                    OutageRescueTimes.Add(toRescue.Value);
                }

                if (toRescue > bound)
                {
                    Violations.Add($"job {id} cut by the kill of {earlier.Host.Name} was rescued by the store only {toRescue.Value.TotalSeconds:F2} s later (bound: lease + rescue interval + tolerance {bound.TotalSeconds:F2} s, {outage.TotalSeconds:F2} s of it server outage)");
                }

                // A snapshot read after the rescue would show the lease of a later claim, not the one the kill left.
                if (earlier.Host.LeasesAfterKill?.TryGetValue(id, out var expiry) == true && earlier.Host.LeasesReadAt < at)
                {
                    toExpiry = Ns(expiry - killed);
                }

                if (lastRun && details.Summary.StartedAt is { } claimed && UnixNs(claimed) >= at)
                {
                    toClaim = Ns(UnixNs(claimed) - killed);
                }
            }
            else
            {
                Violations.Add($"job {id} ran again on {later.Host.Name} after the kill of {earlier.Host.Name}, yet the store recorded no rescue of it between the two runs");
            }
        }

        Reruns.Add(new Rerun(id, earlier.Host.Name, later.Host.Name, toStart, toExpiry, toRescue, toClaim, chained, outage));
    }

    /// <summary>p50 and max of some times, in seconds ("p50 5.06 s, max 5.69 s").</summary>
    private static string Spread(IEnumerable<TimeSpan?> times)
    {
        var sorted = times.OfType<TimeSpan>().Order().ToList();
        return sorted.Count == 0 ? "none measured" : string.Create(CultureInfo.InvariantCulture, $"p50 {sorted[sorted.Count / 2].TotalSeconds:F2} s, max {sorted[^1].TotalSeconds:F2} s");
    }

    /// <summary>
    /// Per kill, a line: when the node's last log line and its death were seen after the kill was requested, and where
    /// the leases of its runs that ran again expire (read a second after the kill). A lease expiring later than kill +
    /// lease was extended by a statement the store ran after the kill was requested.
    /// </summary>
    public IEnumerable<string> KillLines()
    {
        static string Ms(long ns) => (ns / 1_000_000.0).ToString("F0", CultureInfo.InvariantCulture);
        foreach (var (host, inFlight, ranAgain) in Kills)
        {
            var killed = host.KillRequested!.Value;
            var last = Runs.Where(r => r.Host == host).SelectMany(r => r.End is { } e ? [r.Start, e] : new[] { r.Start }).DefaultIfEmpty(long.MinValue).Max();
            var expiries = Reruns.Where(r => r.Killed == host.Name && r.ToExpiry is not null).Select(r => r.ToExpiry!.Value).Order().ToList();
            var leases = expiries.Count == 0 ? "no lease read" : string.Create(CultureInfo.InvariantCulture, $"its re-run jobs' leases expire {expiries[0].TotalSeconds:F3}..{expiries[^1].TotalSeconds:F3} s after");
            yield return string.Create(CultureInfo.InvariantCulture,
                $"kill of {host.Name}: its last log line {(last == long.MinValue ? "none" : Ms(last - killed) + " ms")} from the kill request, seen dead {Ms(host.Died!.Value - killed)} ms after it; {inFlight} in flight, {ranAgain} ran again; {leases}");
        }
    }

    /// <summary>The one-paragraph summary of the run.</summary>
    public string Summary(string store)
    {
        var kills = Record.Incarnations.Count(i => i.KillRequested is not null);
        var sorted = RescueTimes.Order().ToList();
        string Seconds(TimeSpan t) => t.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture);
        var rescue = sorted.Count == 0 ? "no job was re-run" : $"rescue (kill to next start) p50 {Seconds(sorted[sorted.Count / 2])} s, max {Seconds(sorted[^1])} s over {sorted.Count} re-runs (bound: lease {Seconds(Record.Plan.Lease)} + rescue interval {Seconds(Record.Plan.Rescue)} + slack {Seconds(Record.Plan.RescueSlack)} s)";
        if (ChainedRescueTimes.Count > 0)
        {
            rescue += $"; {ChainedRescueTimes.Count} of them past that bound, each after another kill meanwhile (one more lease each)";
        }

        var outages = OutageRescueTimes.Count > 0 ? $"; {OutageRescueTimes.Count} of them past the bound during an outage" : "";
        var storeSide = StoreRescueTimes.Count == 0 ? "no rescue recorded by the store" : string.Create(CultureInfo.InvariantCulture,
            $"store rescue (kill to the store's rescue of the lease) {Spread(StoreRescueTimes.Cast<TimeSpan?>())} over {StoreRescueTimes.Count} (bound: lease + rescue interval + tolerance {Seconds(Record.Plan.StoreRescueTolerance)} s, plus any server outage meanwhile{outages}); split: kill to lease expiry {Spread(Reruns.Select(r => r.ToExpiry))}, expiry to rescue {Spread(Reruns.Select(r => r.ExpiryToRescue))}, rescue to next claim {Spread(Reruns.Select(r => r.RescueToClaim))}, claim to start {Spread(Reruns.Select(r => r.ClaimToStart))}");
        var perHost = string.Join(", ", Runs.GroupBy(r => r.Host.Name[..r.Host.Name.IndexOf('.', StringComparison.Ordinal)]).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count()}"));
        var faults = Record.Disruptions.Count == 0 ? "" : " Server faults: " + string.Join("; ", Record.Disruptions.Select(d => $"{d.Name} ({d.Line}, {Seconds(Ns(d.End - d.At))} s)")) + ".";
        return string.Create(CultureInfo.InvariantCulture,
            $"{store} chaos: {Record.JobIds.Count} jobs on {Record.Plan.Nodes} hosts in {Record.Elapsed.TotalSeconds:F1} s (seed {Record.Seed}); {kills} SIGKILLs at {string.Join("/", Record.KillProgress)} jobs done, {Record.Incarnations.Count} node starts; " +
            $"{Runs.Count} runs ({perHost}), {Duplicates} duplicates: {AfterKills} after kills, against {CutRuns} runs in flight (started, not ended) at the kills and {EndedNotCommitted} that had ended but whose success had not committed " +
            $"(ran again / in flight at each kill: {string.Join(", ", Kills.Select(k => $"{k.Host.Name} {k.RanAgain}/{k.InFlight}"))}), {AfterLostLeases} after a lost lease its live host logged ({LostLeases.Values.Sum(r => r.Count)} lost leases logged), {Duplicates - AfterKills - AfterLostLeases} not allowed; " +
            $"{storeSide}; {rescue}; {Violations.Count} violations.{faults}");
    }
}
