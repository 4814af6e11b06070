using Ladder.Sample.Domain;
using Ladder.Sample.Hosting;

namespace Ladder.Sample.Api;

internal static class LeaderboardApi
{
    public static void Map(IEndpointRouteBuilder api)
    {
        api.MapGet("/leaderboard", async (string? race, string? country, int? page, LadderViews views, CancellationToken ct) =>
        {
            Race? raceFilter = null;
            if (!string.IsNullOrWhiteSpace(race))
            {
                raceFilter = Races.TryParse(race, out var r) ? r : throw LadderProblemException.Invalid($"'{race}' is not a race (terran, protoss, zerg).");
            }

            var countryFilter = string.IsNullOrWhiteSpace(country) ? null : PlayersApi.ValidCountry(country);
            var pageNumber = page ?? 1;
            if (pageNumber is < 1 or > 100_000)
            {
                throw LadderProblemException.Invalid("page starts at 1.");
            }

            return Results.Ok(await views.GetLeaderboardAsync(raceFilter, countryFilter, pageNumber, ct));
        });
    }
}
