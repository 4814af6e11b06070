using System.Diagnostics.Metrics;

namespace Ladder.Jobs.Diagnostics;

/// <summary>The scheduler's instruments, on the <c>Ladder.Jobs</c> meter (docs/jobs/metrics.md).</summary>
internal static class SchedulerTelemetry
{
    public static readonly Counter<long> Fired = JobsTelemetry.Meter.CreateCounter<long>("ladder.jobs.schedule.fired", "{tick}", "Ticks this process fired (a job enqueued).");
    public static readonly Counter<long> Skipped = JobsTelemetry.Meter.CreateCounter<long>("ladder.jobs.schedule.skipped", "{tick}", "Missed ticks skipped by their schedule's policy (the row advanced, no job).");
    public static readonly Counter<long> Lost = JobsTelemetry.Meter.CreateCounter<long>("ladder.jobs.schedule.lost", "{tick}", "Ticks another process fired first (this process's compare-and-set matched nothing).");
    public static readonly Counter<long> Reads = JobsTelemetry.Meter.CreateCounter<long>("ladder.jobs.schedule.reads", "{read}", "Reads of the due schedules (one per timer expiry, wake-up or full batch).");

    public static KeyValuePair<string, object?> Schedule(string name) => new("schedule", name);
}
