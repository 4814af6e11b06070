using Ladder.Sample.Domain;
using Ladder.Sample.Hosting;

namespace Ladder.Sample.Api;

internal static class OperationsApi
{
    public static void Map(IEndpointRouteBuilder api)
    {
        api.MapGet("/health", () => Results.Ok(new { status = "healthy" }));
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
        api.MapGet("/countries", async (LadderDatabase db, CancellationToken ct) => Results.Ok(await db.ListCountriesAsync(ct)));
    }
}
