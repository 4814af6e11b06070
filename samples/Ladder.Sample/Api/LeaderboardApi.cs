using Ladder.Sample.Domain;
using Ladder.Sample.Hosting;

namespace Ladder.Sample.Api;

internal static class LeaderboardApi
{
    public static void Map(IEndpointRouteBuilder api)
    {
        api.MapGet("/leaderboard", async (string? race, string? country, string? name, string? sort, string? dir, int? page, LadderViews views, CancellationToken ct) =>
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

            var search = string.IsNullOrWhiteSpace(name) ? null : name.Trim().Normalize(System.Text.NormalizationForm.FormC);
            if (search is { Length: > PlayerName.MaxLength })
            {
                throw LadderProblemException.Invalid($"A name search has at most {PlayerName.MaxLength} characters.");
            }

            var (column, descending) = ValidSort(sort, dir);
            return Results.Ok(await views.GetLeaderboardAsync(new LeaderboardQuery(raceFilter, countryFilter, search, column, descending), pageNumber, ct));
        });
    }

    /// <summary>A column and a direction; without a direction, numbers sort high first and words A to Z.</summary>
    internal static (LeaderboardSort Column, bool Descending) ValidSort(string? sort, string? dir)
    {
        var column = string.IsNullOrWhiteSpace(sort) ? LeaderboardSort.Rank : sort.Trim().ToUpperInvariant() switch
        {
            "RANK" => LeaderboardSort.Rank,
            "NAME" => LeaderboardSort.Name,
            "COUNTRY" => LeaderboardSort.Country,
            "RACE" => LeaderboardSort.Race,
            "RATING" => LeaderboardSort.Rating,
            "GAMES" => LeaderboardSort.Games,
            "WINS" => LeaderboardSort.Wins,
            _ => throw LadderProblemException.Invalid($"'{sort}' is not a column to sort by (rank, name, country, race, rating, games, wins)."),
        };
        var descending = string.IsNullOrWhiteSpace(dir)
            ? column is LeaderboardSort.Rating or LeaderboardSort.Games or LeaderboardSort.Wins
            : dir.Trim().ToUpperInvariant() switch
            {
                "ASC" => false,
                "DESC" => true,
                _ => throw LadderProblemException.Invalid($"'{dir}' is not a sort direction (asc, desc)."),
            };
        return (column, descending);
    }
}
