using Ladder.Jobs;
using Ladder.Sample.Domain;
using Ladder.Sample.Hosting;

namespace Ladder.Sample.Api;

internal static class OperationsApi
{
    public static void Map(IEndpointRouteBuilder api)
    {
        api.MapGet("/health", () => Results.Ok(new { status = "healthy" }));
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

        api.MapGet("/jobs/dead", async (JobQueue queue, CancellationToken ct) =>
        {
            var page = await queue.GetJobsAsync(JobState.Dead, pageSize: 100, cancellationToken: ct);
            return Results.Ok(page.Jobs.Select(static j => new DeadJob(j.Id, j.Kind, j.UniqueKey, j.Attempts, ReplayIntake.Reason(j.LastError))));
        });

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
