using Ladder.Jobs;
using Ladder.Sample.Domain;
using Ladder.Sample.Hosting;

namespace Ladder.Sample.Api;

internal static class OperationsApi
{
    public static void Map(IEndpointRouteBuilder api)
    {
        api.MapGet("/health", () => Results.Ok(new { status = "healthy" }));
        api.MapGet("/host", (HttpContext context, HostStart start) => Results.Ok(new HostInfo(
            ServedBy.Name(context), Environment.MachineName, context.Connection.LocalPort, Environment.ProcessId, start.At)));
        api.MapGet("/countries", async (LadderDatabase db, CancellationToken ct) => Results.Ok(await db.ListCountriesAsync(ct)));

        api.MapGet("/jobs", async (JobQueue queue, CancellationToken ct) =>
        {
            var byState = Enum.GetValues<JobState>().ToDictionary(ReplayIntake.StateName, static _ => 0L);
            foreach (var count in await queue.GetCountsAsync(ct))
            {
                byState[ReplayIntake.StateName(count.State)] += count.Count;
            }

            return Results.Ok(new QueueCounts(byState));
        });

        // Dead jobs a page at a time, oldest first: `after` is the previous page's `nextAfter`.
        api.MapGet("/jobs/dead", async (long? after, int? pageSize, JobLines jobs, CancellationToken ct) =>
        {
            var size = pageSize ?? 50;
            if (size is < 1 or > JobLines.MaxDeadPageSize)
            {
                throw LadderProblemException.Invalid($"pageSize is 1 to {JobLines.MaxDeadPageSize}.");
            }

            return after is < 0
                ? throw LadderProblemException.Invalid("after is a job id (0 or more).")
                : Results.Ok(await jobs.GetDeadAsync(after, size, ct));
        });

        // Running jobs and jobs waiting for a retry, with their attempt and next run.
        api.MapGet("/jobs/active", async (JobLines jobs, CancellationToken ct) => Results.Ok(await jobs.GetActiveAsync(ct)));

        api.MapPost("/jobs/{id:long}/retry", async (long id, JobQueue queue, CancellationToken ct) =>
        {
            if (!await queue.RetryAsync(id, ct))
            {
                throw await queue.GetJobAsync(id, ct) is { } job
                    ? LadderProblemException.Conflict($"Job {id} is {ReplayIntake.StateName(job.Summary.State)}; only a dead job can be retried.")
                    : LadderProblemException.NotFound($"There is no job {id}.");
            }

            return Results.Ok(new { id, state = "ready" });
        });

        // The pool's processes: the page lists them, so a kill seen in the incidents can be matched to a new pid.
        api.MapGet("/workers/processes", (ReplayParsing parsing) =>
        {
            var s = parsing.Stats;
            return Results.Ok(new WorkerProcesses(s.ProcessIds, s.SpareProcessId, s.LastStartError));
        });

        // The last timeouts and crashes of this host's pool, newest first.
        api.MapGet("/workers/incidents", (ReplayParsing parsing) => Results.Ok(parsing.RecentIncidents));

        api.MapGet("/workers", (ReplayParsing parsing) =>
        {
            var s = parsing.Stats;
            return Results.Ok(new Dictionary<string, long>
            {
                ["workers"] = s.Workers,
                ["busy"] = s.BusyWorkers,
                ["idle"] = s.IdleWorkers,
                ["starting"] = s.Starting,
                ["queuedCalls"] = s.QueuedCalls,
                ["calls"] = s.Calls,
                ["succeeded"] = s.Succeeded,
                ["timeouts"] = s.Timeouts,
                ["crashes"] = s.Crashes,
                ["remoteErrors"] = s.RemoteErrors,
                ["kills"] = s.Kills,
                ["recycles"] = s.Recycles,
                ["spawns"] = s.Spawns,
                ["breakerOpen"] = s.BreakerOpen ? 1 : 0,
            });
        });
    }
}
