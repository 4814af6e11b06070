using System.Globalization;

namespace Ladder.Jobs.MultiHost.Tests.Support;

/// <summary>A chaos run from start to verdict: the run, the checks of the logs and the store, the summary, no process left.</summary>
internal static class ChaosScenario
{
    public static async Task RunAsync(Func<string, CancellationToken, Task<ChaosStore>> openStore, ChaosPlan plan, CancellationToken ct)
    {
        var folder = Directory.CreateTempSubdirectory("ladder-chaos-").FullName;
        var seed = Environment.GetEnvironmentVariable("LADDER_CHAOS_SEED") is { } fixedSeed
            ? int.Parse(fixedSeed, CultureInfo.InvariantCulture)
            : Random.Shared.Next();
        IReadOnlyList<string> markers = [folder];
        try
        {
            ChaosRecord record;
            IReadOnlyList<QueueStateCount> counts;
            string name;
            await using (var store = await openStore(folder, ct))
            {
                name = store.Name;
                markers = [folder, .. store.ProcessMarkers];
                try
                {
                    record = await ChaosRun.RunAsync(store, plan, folder, seed, ct);
                }
                finally
                {
                    Processes.Matching(folder).Should().BeEmpty("every node exited (the run kills what remains)");
                }

                counts = await store.Queue.GetCountsAsync(ct);

                // The store's side of every job that ran more than once (its rescues, its last claim), read before the
                // store goes: the analysis splits each rescue time at the store's rescue.
                foreach (var id in RunAnalysis.Of(record).Runs.GroupBy(r => r.JobId).Where(g => g.Count() > 1).Select(g => g.Key))
                {
                    if (await store.Queue.GetJobAsync(id, ct) is { } details)
                    {
                        record.StoreJobs[id] = details;
                    }
                }
            }

            var analysis = RunAnalysis.Of(record);
            TestContext.Out.WriteLine(analysis.Summary(name));
            TestContext.Progress.WriteLine(analysis.Summary(name));
            foreach (var line in record.Stderr.Take(50))
            {
                TestContext.Out.WriteLine(line);
            }

            // Every violation, and every warning's first line (the first 50 lines above are mostly one stack trace): a
            // failed run is hard to repeat, so its evidence goes to the output.
            foreach (var violation in analysis.Violations.Take(200))
            {
                TestContext.Out.WriteLine("violation: " + violation);
            }

            // A warning's message is the next line of the same node (the nodes' lines interleave).
            var lines = record.Stderr.ToList();
            for (var i = 0; i + 1 < lines.Count; i++)
            {
                if (lines[i].Contains("warn: ", StringComparison.Ordinal) || lines[i].Contains("fail: ", StringComparison.Ordinal) || lines[i].Contains("crit: ", StringComparison.Ordinal))
                {
                    var prefix = lines[i][..(lines[i].IndexOf("): ", StringComparison.Ordinal) + 3)];
                    var message = lines.Skip(i + 1).FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)) ?? "";
                    TestContext.Out.WriteLine("node log: " + lines[i] + " / " + message[Math.Min(prefix.Length, message.Length)..].Trim());
                }
            }

            foreach (var (host, runs) in analysis.LostLeases.OrderBy(l => l.Key, StringComparer.Ordinal))
            {
                TestContext.Out.WriteLine($"lost leases logged by {host} (job/attempt): {string.Join(", ", runs.Select(r => $"{r.JobId}/{r.Attempt}"))}");
            }

            counts.Should().Equal([new QueueStateCount("default", JobState.Succeeded, plan.Jobs)], "the store says every job succeeded, and holds nothing else");
            record.ExitCodes.Values.Should().OnlyContain(code => code == 0, "the last nodes stopped gracefully");
            record.ScheduleDone.Should().Be(record.ScheduleLength, "every kill and fault of the plan happened before the jobs ran out");
            record.Incarnations.Count(i => i.KillRequested is not null).Should().Be(plan.Kills);
            foreach (var line in analysis.KillLines())
            {
                TestContext.Out.WriteLine(line);
            }

            foreach (var rerun in analysis.Reruns.OrderByDescending(r => r.ToStart).Take(10))
            {
                TestContext.Out.WriteLine("slowest re-runs: " + rerun);
            }

            analysis.Violations.Should().BeEmpty();
            analysis.Reruns.Should().OnlyContain(r => r.ToRescue != null, "the store recorded the rescue of every job a kill cut");
            analysis.CutRuns.Should().BePositive("some kill must have found handlers in flight, or the run proves little about rescues");
            analysis.Duplicates.Should().BeGreaterThanOrEqualTo(analysis.CutRuns, "a job cut by a kill runs again");
        }
        finally
        {
            Processes.Matching([.. markers]).Should().BeEmpty("no node and no server of this run is left");
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}

/// <summary>Processes found by their command line, from /proc: a run's nodes and servers name its folders.</summary>
internal static class Processes
{
    public static List<string> Matching(params string[] markers)
    {
        var found = new List<string>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            string commandLine;
            try
            {
                commandLine = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue; // It exited while the folder was being read.
            }

            if (markers.Any(m => commandLine.Contains(m, StringComparison.Ordinal)))
            {
                found.Add($"{pid}: {commandLine.Trim()}");
            }
        }

        return found;
    }
}
