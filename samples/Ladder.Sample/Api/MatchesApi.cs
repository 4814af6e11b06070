using Ladder.Sample.Domain;
using Ladder.Sample.Hosting;
using Microsoft.Extensions.Options;

namespace Ladder.Sample.Api;

internal static class MatchesApi
{
    public static void Map(IEndpointRouteBuilder api)
    {
        api.MapPost("/matches", async (CreateMatchRequest request, LadderDatabase db, LadderViews views, CancellationToken ct) =>
        {
            if (!Races.TryParse(request.Race1, out var race1) || !Races.TryParse(request.Race2, out var race2))
            {
                throw LadderProblemException.Invalid("race1 and race2 are each one of terran, protoss, zerg.");
            }

            var map = string.IsNullOrWhiteSpace(request.Map) ? "Fighting Spirit" : request.Map.Trim();
            if (map.Length > 64)
            {
                throw LadderProblemException.Invalid("A map name has at most 64 characters.");
            }

            var match = await db.CreateMatchAsync(request.Player1Id, race1, request.Player2Id, race2, map, ct);
            views.MatchCreated(match);
            return Results.Created($"/api/matches/{match.Id}", match);
        });

        // The front page's results feed: the latest completed or aborted matches, newest first.
        api.MapGet("/matches/recent", async (int? limit, LadderDatabase db, CancellationToken ct) =>
        {
            var count = limit ?? 10;
            if (count is < 1 or > 100)
            {
                throw LadderProblemException.Invalid("limit is 1 to 100.");
            }

            var lines = await db.RecentResultsAsync(count, ct);
            return Results.Ok(lines.Select(static m => new RecentResult(
                m.Id, m.CompletedAt ?? m.CreatedAt, m.Map, m.State,
                new MatchSide(m.Player1Id, m.Player1Name, m.Race1, m.Change1),
                new MatchSide(m.Player2Id, m.Player2Name, m.Race2, m.Change2),
                m.WinnerId, m.Source)));
        });

        api.MapGet("/matches/{id:long}", async (long id, LadderDatabase db, CancellationToken ct) =>
            await db.TryGetMatchAsync(id, ct) is { } match ? Results.Ok(match) : throw LadderProblemException.NotFound($"There is no match {id}."));

        api.MapPost("/matches/{id:long}/report", async (long id, ReportMatchRequest request, LadderDatabase db, LadderViews views, CancellationToken ct) =>
        {
            if (request.Aborted == true)
            {
                var aborted = await db.AbortMatchAsync(id, ct);
                views.MatchAborted(aborted);
                return Results.Ok(aborted);
            }

            var winner = request.WinnerId ?? throw LadderProblemException.Invalid("Give winnerId, or aborted: true.");
            var outcome = await db.RecordResultAsync(id, winner, "report", null, ct);
            if (!outcome.Recorded)
            {
                throw LadderProblemException.Conflict($"Match {id} is already {outcome.Match.State}.");
            }

            views.ResultRecorded(outcome.Match);
            return Results.Ok(outcome.Match);
        });

        // The raw replay file is the body (application/octet-stream). The host never parses it: only a worker does.
        api.MapPost("/matches/{id:long}/replay", async (long id, HttpRequest request, ReplayIntake intake, IOptions<LadderOptions> options, CancellationToken ct) =>
        {
            var bytes = await ReadLimitedAsync(request, options.Value.MaxReplayBytes, ct);
            var upload = await intake.UploadAsync(id, bytes, ct);
            return Results.Accepted($"/api/replays/{upload.Hash}", upload);
        });

        api.MapGet("/replays/{hash}", async (string hash, ReplayIntake intake, CancellationToken ct) =>
            Results.Ok(await intake.GetStatusAsync(hash, ct)));
    }

    private static async Task<byte[]> ReadLimitedAsync(HttpRequest request, int limit, CancellationToken ct)
    {
        if (request.ContentLength > limit)
        {
            throw new LadderProblemException(413, "Replay too large", $"A replay has at most {limit} bytes; this one has {request.ContentLength}.");
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                throw new LadderProblemException(413, "Replay too large", $"A replay has at most {limit} bytes.");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.Length > 0 ? buffer.ToArray() : throw LadderProblemException.Invalid("The body is empty: send the replay file as application/octet-stream.");
    }
}
