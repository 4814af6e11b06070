using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Ladder.Jobs.Diagnostics;

/// <summary>The <c>Ladder.Jobs</c> meter and activity source. Instrument names are documented in docs/jobs/metrics.md.</summary>
internal static class JobsTelemetry
{
    public const string Name = "Ladder.Jobs";

    public static readonly ActivitySource Source = new(Name);
    public static readonly Meter Meter = new(Name);

    public static readonly Counter<long> Enqueued = Meter.CreateCounter<long>("ladder.jobs.enqueued", "{job}", "Jobs inserted (a unique-key duplicate is not counted).");
    public static readonly Counter<long> Started = Meter.CreateCounter<long>("ladder.jobs.started", "{job}", "Attempts started.");
    public static readonly Counter<long> Succeeded = Meter.CreateCounter<long>("ladder.jobs.succeeded", "{job}", "Jobs that succeeded.");
    public static readonly Counter<long> Failed = Meter.CreateCounter<long>("ladder.jobs.failed", "{attempt}", "Attempts that failed (retried or dead).");
    public static readonly Counter<long> Retried = Meter.CreateCounter<long>("ladder.jobs.retried", "{job}", "Failed attempts with a retry scheduled.");
    public static readonly Counter<long> Dead = Meter.CreateCounter<long>("ladder.jobs.dead", "{job}", "Jobs dead-lettered.");
    public static readonly Counter<long> Rescued = Meter.CreateCounter<long>("ladder.jobs.rescued", "{job}", "Jobs whose lease expired while their handler ran, put back (or dead as poison).");
    public static readonly Counter<long> Released = Meter.CreateCounter<long>("ladder.jobs.released", "{job}", "Jobs whose lease expired while they waited claimed ahead, not started: put back uncounted.");
    public static readonly Counter<long> LeasesLost = Meter.CreateCounter<long>("ladder.jobs.leases_lost", "{job}", "Runs whose lease this process lost while it held them: another process rescued the job (this one was stalled or cut off from the store past the lease); their outcome is not applied.");
    public static readonly Counter<long> HeldBack = Meter.CreateCounter<long>("ladder.jobs.held_back", "{job}", "Runnable jobs a claim left for a limit (their concurrency key was full, or a rate limit had no room); one job is counted at every claim that skips it.");
    public static readonly Histogram<double> QueueWait = Meter.CreateHistogram<double>("ladder.jobs.queue_wait", "ms", "From a job's run-at time to its attempt's start.");
    public static readonly Histogram<double> RunDuration = Meter.CreateHistogram<double>("ladder.jobs.run_duration", "ms", "How long a handler ran.");

    public static KeyValuePair<string, object?> Queue(string queue) => new("queue", queue);

    public static KeyValuePair<string, object?> Kind(string kind) => new("kind", kind);
}
