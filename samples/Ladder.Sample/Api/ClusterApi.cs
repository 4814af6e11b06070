using System.Text.Json;
using Ladder.Jobs;
using Ladder.Sample.Domain;
using Ladder.Sample.Hosting;
using Microsoft.Extensions.Options;

namespace Ladder.Sample.Api;

/// <summary>
/// <c>GET /api/cluster</c>: the hosts sharing this ladder (from their heartbeat rows), each one's workers and running
/// jobs, and the shared queue. Any host answers for all of them: the rows are in the shared database.
/// </summary>
internal static class ClusterApi
{
    /// <summary>A host gone for longer than this is no longer listed.</summary>
    public static readonly TimeSpan Forget = TimeSpan.FromMinutes(1);

    public static void Map(IEndpointRouteBuilder api)
        => api.MapGet("/cluster", async (
            HttpContext context, LadderDatabase db, JobQueue queue, IOptions<LadderOptions> options, TimeProvider clock,
            CancellationToken ct) =>
        {
            var now = clock.GetUtcNow();
            var self = ServedBy.Name(context);
            var rows = await db.ListHostsAsync(ClusterHeartbeat.Iso(now - Forget), ct);
            var hosts = rows.Select(row =>
            {
                var status = JsonSerializer.Deserialize<ClusterHostStatus>(row.Status, ClusterHeartbeat.Json)
                    ?? new ClusterHostStatus(0, 0, []);
                var seen = DateTimeOffset.Parse(row.SeenAt, System.Globalization.CultureInfo.InvariantCulture);
                return new ClusterHost(
                    row.Name, row.Url, row.ProcessId, DateTimeOffset.Parse(row.StartedAt, System.Globalization.CultureInfo.InvariantCulture),
                    seen, Alive: now - seen <= options.Value.HeartbeatInterval * 3, Self: row.Name == self,
                    status.Workers, status.BusyWorkers,
                    [.. status.Running.Select(static r => new ClusterRun(r.JobId, r.MatchId, $"match {r.MatchId}", r.StartedAt))]);
            }).ToList();

            var byState = Enum.GetValues<JobState>().ToDictionary(ReplayIntake.StateName, static _ => 0L);
            foreach (var count in await queue.GetCountsAsync(ct))
            {
                byState[ReplayIntake.StateName(count.State)] += count.Count;
            }

            return Results.Ok(new ClusterView(self, db.Location, hosts, byState));
        });
}
