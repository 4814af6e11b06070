// A small app the crash tests start and kill with SIGKILL at random points.
// Usage: Ladder.Jobs.CrashHost <db> <jobCount> <runsLogPrefix>
// Enqueues jobs "job-0".."job-{n-1}" (unique keys, so a restart adds nothing), runs them with concurrency 4, appends
// each run's job number to <runsLogPrefix>.<pid> (one file per process: appends from two processes never interleave),
// prints "ran <k>" after every run, and "done" (exit 0) once every job has succeeded.
// Options after them, as pairs:
//   gate <n>: handlers wait until n processes have started on the same runs log (each announces itself with
//     <runsLogPrefix>.<pid>.started) and then take 10 ms each, so the processes really run side by side.
//   poison <k>: job k kills its own process with SIGKILL each time it runs (a handler that crashes the runtime); the
//     host is done once every job succeeded or is dead.
//   concurrency <c> (default 4), max-rescues <r> (default 1000).
using System.Diagnostics;
using System.Text;
using Ladder.Jobs;

if (args.Length < 3)
{
    Console.Error.WriteLine("usage: Ladder.Jobs.CrashHost <db> <jobCount> <runsLogPrefix> [gate <n>] [poison <k>] [concurrency <c>] [max-rescues <r>]");
    return 2;
}

var path = args[0];
var count = int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
var runsLog = $"{args[2]}.{Environment.ProcessId}";
var settings = new Dictionary<string, int>(StringComparer.Ordinal) { ["gate"] = 0, ["poison"] = -1, ["concurrency"] = 4, ["max-rescues"] = 1000 };
for (var i = 3; i + 1 < args.Length; i += 2)
{
    settings[args[i]] = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture);
}

var gate = settings["gate"];
var poison = settings["poison"];
var gateOpen = gate == 0;

var options = new LadderJobsOptions
{
    Path = path,
    // Short enough that a killed process's jobs come back quickly; long enough (4 s of slack) that a heartbeat
    // delayed by a starved thread pool on a busy 2-core CI machine does not let a live process's lease expire.
    LeaseDuration = TimeSpan.FromSeconds(5),
    HeartbeatInterval = TimeSpan.FromSeconds(1),
    RescueInterval = TimeSpan.FromMilliseconds(500),
    PollInterval = TimeSpan.FromMilliseconds(200),
    MaxRescues = settings["max-rescues"],
    Prefetch = 16,
};
options.Queues["default"] = settings["concurrency"];

await using var queue = JobQueue.Open(options);
for (var start = 0; start < count; start += 500)
{
    var batch = Enumerable.Range(start, Math.Min(500, count - start))
        .Select(i => JobRequest.For(new CrashJob(i), new JobOptions { UniqueKey = $"job-{i}" }))
        .ToList();
    await queue.EnqueueBatchAsync(batch);
}

await using var log = new FileStream(runsLog, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, bufferSize: 1);
var logLock = new object();
var ran = 0;
var handlers = new JobHandlerRegistry().Add<CrashJob>(async (job, context, ct) =>
{
    while (!Volatile.Read(ref gateOpen))
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(runsLog))!;
        var prefix = Path.GetFileName(args[2]) + ".";
        if (Directory.GetFiles(dir, prefix + "*.started").Length >= gate)
        {
            Volatile.Write(ref gateOpen, true);
            break;
        }

        await Task.Delay(20, ct);
    }

    if (gate > 0)
    {
        await Task.Delay(10, ct);
    }

    if (job.Number == poison)
    {
        Console.Out.WriteLine("poisoned");
        Process.GetCurrentProcess().Kill();
    }

    lock (logLock)
    {
        // Written before the handler returns, so a run that is killed before its completion commits is still counted.
        log.Write(Encoding.ASCII.GetBytes($"{job.Number}\n"));
        log.Flush();
        ran++;
        Console.Out.WriteLine($"ran {ran}");
    }
});

await using var processor = new JobProcessor(queue, handlers);
await processor.StartAsync(CancellationToken.None);
if (gate > 0)
{
    // Announced once this process is claiming: its first claims are held until every process is, so all of them run jobs.
    File.WriteAllText($"{runsLog}.started", "");
}

using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
while (await timer.WaitForNextTickAsync())
{
    var counts = await queue.GetCountsAsync();
    if (counts.Where(c => c.State is JobState.Succeeded || (poison >= 0 && c.State is JobState.Dead)).Sum(c => c.Count) >= count)
    {
        break;
    }
}

await processor.StopAsync(CancellationToken.None);
Console.Out.WriteLine("done");
return 0;

/// <summary>A crash-test job: its number.</summary>
/// <param name="Number">The job number.</param>
[JobKind("crash-job")]
internal sealed record CrashJob(int Number);
