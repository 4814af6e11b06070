using System.Diagnostics;
using System.Globalization;

namespace Ladder.Jobs.Limits;

/// <summary>
/// The limits tests' multi-process run: N Ladder.Jobs.LimitNode processes on one store, jobs enqueued by the test's own
/// queue (which runs no processor), the nodes' start/end lines read back once every job succeeded.
/// </summary>
public static class LimitRun
{
    /// <summary>One handler run as a node logged it.</summary>
    public sealed record Run(string Host, long JobId, long StartNs, long EndNs);

    /// <summary>What a run saw: the handler runs, and the time from the enqueue to the last end.</summary>
    public sealed record Result(IReadOnlyList<Run> Runs, TimeSpan Elapsed, IReadOnlyList<string> Stderr);

    private static string NodePath
    {
        get
        {
            // tests/<project>/bin/<config>/net10.0 -> tests/Ladder.Jobs.LimitNode/bin/<config>/net10.0
            var testDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var path = Path.GetFullPath(Path.Combine(testDir.FullName, "..", "..", "..", "..", "Ladder.Jobs.LimitNode", "bin", testDir.Parent!.Name, testDir.Name, "Ladder.Jobs.LimitNode.dll"));
            return File.Exists(path) ? path : throw new FileNotFoundException("Build tests/Ladder.Jobs.LimitNode first.", path);
        }
    }

    /// <summary>Starts the nodes, waits until they are ready, enqueues the jobs, waits until all succeeded, stops the nodes.</summary>
    public static async Task<Result> RunAsync(
        JobQueue queue, IReadOnlyList<string> storeArguments, string folder, int nodes, IReadOnlyList<JobRequest> jobs, int concurrency, int workMs,
        CancellationToken ct)
    {
        var stderr = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var processes = new List<Process>();
        var logs = new List<string>();
        try
        {
            for (var n = 0; n < nodes; n++)
            {
                var log = Path.Combine(folder, $"node{n}.log");
                logs.Add(log);
                var info = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                foreach (var argument in (string[])[NodePath, .. storeArguments, "--host", $"n{n}", "--log", log, "--concurrency", concurrency.ToString(CultureInfo.InvariantCulture), "--work-ms", workMs.ToString(CultureInfo.InvariantCulture)])
                {
                    info.ArgumentList.Add(argument);
                }

                var process = Process.Start(info) ?? throw new InvalidOperationException("could not start a limit node");
                var name = $"n{n} (pid {process.Id})";
                process.ErrorDataReceived += (_, e) =>
                {
                    if (e.Data is not null)
                    {
                        stderr.Enqueue($"{name}: {e.Data}");
                    }
                };
                process.BeginErrorReadLine();
                processes.Add(process);
            }

            foreach (var process in processes)
            {
                while (await process.StandardOutput.ReadLineAsync(ct) is { } line && line != "ready")
                {
                }
            }

            var started = Stopwatch.GetTimestamp();
            var ids = (await queue.EnqueueBatchAsync(jobs, ct)).Select(r => r.JobId).ToHashSet();

            // The backstop poll of the counts (the nodes are other processes: no in-process signal reaches here).
            while ((await queue.GetTotalsAsync(cancellationToken: ct))[JobState.Succeeded] < ids.Count)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(20), ct);
            }

            var elapsed = Stopwatch.GetElapsedTime(started);
            foreach (var process in processes)
            {
                process.StandardInput.Close();
            }

            foreach (var process in processes)
            {
                await process.WaitForExitAsync(ct);
                process.ExitCode.Should().Be(0, "a node stops gracefully when its stdin closes");
            }

            return new Result(Parse(logs), elapsed, [.. stderr]);
        }
        finally
        {
            foreach (var process in processes)
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(10_000);
                }

                process.Dispose();
            }
        }
    }

    private static List<Run> Parse(IEnumerable<string> logs)
    {
        var starts = new Dictionary<(string, long), long>();
        var runs = new List<Run>();
        foreach (var line in logs.SelectMany(File.ReadLines))
        {
            var parts = line.Split(' ');
            var key = (parts[1], long.Parse(parts[2], CultureInfo.InvariantCulture));
            var ns = long.Parse(parts[3], CultureInfo.InvariantCulture);
            if (parts[0] == "start")
            {
                starts[key] = ns;
            }
            else
            {
                runs.Add(new Run(key.Item1, key.Item2, starts[key], ns));
                starts.Remove(key);
            }
        }

        starts.Should().BeEmpty("every run that started ended (the nodes stopped gracefully)");
        return runs;
    }

    /// <summary>The most runs of one group that overlapped in time (a run's end before another's start at the same instant).</summary>
    public static int MaxOverlap(IEnumerable<Run> runs)
    {
        var events = runs.SelectMany(r => new[] { (At: r.StartNs, Delta: 1), (At: r.EndNs, Delta: -1) }).OrderBy(e => e.At).ThenBy(e => e.Delta);
        int current = 0, max = 0;
        foreach (var (_, delta) in events)
        {
            current += delta;
            max = Math.Max(max, current);
        }

        return max;
    }

    /// <summary>The most of <paramref name="times"/> that fall in any half-open window (t - window, t].</summary>
    public static int MaxInWindow(IEnumerable<long> times, long window)
    {
        var sorted = times.Order().ToArray();
        int max = 0, first = 0;
        for (var i = 0; i < sorted.Length; i++)
        {
            while (sorted[first] <= sorted[i] - window)
            {
                first++;
            }

            max = Math.Max(max, i - first + 1);
        }

        return max;
    }

    /// <summary>How big the soak runs are: <c>LADDER_SOAK_SCALE=full</c>, else the bounded CI size.</summary>
    public static int Scale(int ci, int full) =>
        string.Equals(Environment.GetEnvironmentVariable("LADDER_SOAK_SCALE"), "full", StringComparison.OrdinalIgnoreCase) ? full : ci;
}
