using System.Globalization;
using System.Text.RegularExpressions;

namespace Ladder.Jobs.MultiHost.Tests.Support;

/// <summary>One handler run, from a node's log: its start and, unless its node died first, its end (Unix ns).</summary>
internal sealed record Run(Incarnation Host, long JobId, int Attempt, long Start, long? End)
{
    /// <summary>When the run stopped: its end line, or the death of its node.</summary>
    public long EffectiveEnd => End ?? Host.Died ?? long.MaxValue;
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
            }
        }

        foreach (var host in Record.Incarnations.Where(i => i.KillRequested is not null).OrderBy(i => i.KillRequested))
        {
            Kills.Add((host, Runs.Count(r => r.Host == host && r.End is null), ranAgain.GetValueOrDefault(host)));
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

        var perHost = string.Join(", ", Runs.GroupBy(r => r.Host.Name[..r.Host.Name.IndexOf('.', StringComparison.Ordinal)]).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count()}"));
        var faults = Record.Disruptions.Count == 0 ? "" : " Server faults: " + string.Join("; ", Record.Disruptions.Select(d => $"{d.Name} ({d.Line})")) + ".";
        return string.Create(CultureInfo.InvariantCulture,
            $"{store} chaos: {Record.JobIds.Count} jobs on {Record.Plan.Nodes} hosts in {Record.Elapsed.TotalSeconds:F1} s (seed {Record.Seed}); {kills} SIGKILLs at {string.Join("/", Record.KillProgress)} jobs done, {Record.Incarnations.Count} node starts; " +
            $"{Runs.Count} runs ({perHost}), {Duplicates} duplicates: {AfterKills} after kills, against {CutRuns} runs in flight (started, not ended) at the kills and {EndedNotCommitted} that had ended but whose success had not committed " +
            $"(ran again / in flight at each kill: {string.Join(", ", Kills.Select(k => $"{k.Host.Name} {k.RanAgain}/{k.InFlight}"))}), {AfterLostLeases} after a lost lease its live host logged ({LostLeases.Values.Sum(r => r.Count)} lost leases logged), {Duplicates - AfterKills - AfterLostLeases} not allowed; " +
            $"{rescue}; {Violations.Count} violations.{faults}");
    }
}
