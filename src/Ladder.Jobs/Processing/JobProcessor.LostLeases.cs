using Ladder.Jobs.Diagnostics;

namespace Ladder.Jobs;

/// <summary>A lease this process lost while it held the run: said once per run, in a warning and a counter.</summary>
public sealed partial class JobProcessor
{
    // An outcome's compare-and-set on (id, running, token) matched nothing: the job was cancelled elsewhere (a cancel
    // this process heard of keeps its reason) or its lease was lost to another process's rescue.
    private void OutcomeNotApplied(RunningJob entry)
    {
        if (entry.Reason == RunningJob.Cancelled)
        {
            Log.OutcomeDiscardedCancelled(_logger, entry.Job.Id);
        }
        else
        {
            LeaseLost(entry);
        }
    }

    // A live process must say when it lost a lease (issue #10): another process rescued the job and may run it while
    // this one still does. Once per run, by whichever finds it first: a heartbeat or the outcome's compare-and-set.
    private void LeaseLost(RunningJob entry)
    {
        if (!entry.TryReportLeaseLost())
        {
            return;
        }

        var job = entry.Job;
        Log.LeaseLostToRescue(_logger, job.Id, job.Kind, job.Attempt, _options.LeaseDuration);
        try
        {
            JobsTelemetry.LeasesLost.Add(1, JobsTelemetry.Queue(job.Queue), JobsTelemetry.Kind(job.Kind));
        }
        catch (Exception e)
        {
            Log.TelemetryFailed(_logger, job.Id, e);
        }
    }
}
