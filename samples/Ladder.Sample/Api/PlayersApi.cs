using Ladder.Sample.Domain;
using Ladder.Sample.Hosting;

namespace Ladder.Sample.Api;

internal static class PlayersApi
{
    public static void Map(IEndpointRouteBuilder api)
    {
        api.MapPost("/players", async (CreatePlayerRequest request, LadderDatabase db, CancellationToken ct) =>
        {
            var name = ValidName(request.Name);
            var country = ValidCountry(request.Country);
            var player = await db.CreatePlayerAsync(name, country, ct);
            return Results.Created($"/api/players/{player.Id}", player);
        });

        api.MapGet("/players/{id:long}", async (long id, LadderViews views, CancellationToken ct) =>
            Results.Ok(await views.GetProfileAsync(id, ct)));

        // The player page: ratings, the rating after every rated game, and a page of matches with their replays' jobs.
        api.MapGet("/players/{id:long}/history", async (long id, int? page, PlayerPages pages, CancellationToken ct) =>
        {
            var pageNumber = page ?? 1;
            return pageNumber is < 1 or > 100_000
                ? throw LadderProblemException.Invalid("page starts at 1.")
                : Results.Ok(await pages.GetHistoryAsync(id, pageNumber, ct));
        });

        api.MapPatch("/players/{id:long}", async (long id, UpdatePlayerRequest request, LadderDatabase db, LadderViews views, CancellationToken ct) =>
        {
            var name = request.Name is null ? null : ValidName(request.Name);
            var country = request.Country is null ? null : ValidCountry(request.Country);
            var update = await db.UpdatePlayerAsync(id, name, country, ct);
            if (update.ChangedFields.Count > 0)
            {
                // After the commit: a name or country change is something the leaderboard depends on.
                views.PlayerChanged(id, update.ChangedFields);
            }

            return Results.Ok(update.Player);
        });

        api.MapPut("/players/{id:long}/preferences", async (long id, PreferencesRequest request, LadderDatabase db, LadderViews views, CancellationToken ct) =>
        {
            var races = new List<string>();
            foreach (var text in request.LastRaces ?? [])
            {
                races.Add(Races.TryParse(text, out var race) ? race.ToName() : throw LadderProblemException.Invalid($"'{text}' is not a race (terran, protoss, zerg)."));
            }

            if (races.Count > 3)
            {
                throw LadderProblemException.Invalid("Keep at most 3 last races.");
            }

            if (request.FavoriteMap is { Length: > 64 })
            {
                throw LadderProblemException.Invalid("A map name has at most 64 characters.");
            }

            var player = await db.UpdatePreferencesAsync(id, new Preferences(races, request.NotifyOnMatch ?? true, request.FavoriteMap), ct);

            // Published like any other write: the leaderboard does not depend on preferences, so it stays cached.
            views.PlayerChanged(id, ["preferences"]);
            return Results.Ok(player);
        });
    }

    internal static string ValidName(string? text)
        => PlayerName.TryNormalize(text, out var name, out var error) ? name : throw LadderProblemException.Invalid(error);

    internal static string ValidCountry(string? text)
        => Countries.TryNormalize(text, out var code) ? code : throw LadderProblemException.Invalid($"'{text}' is not an ISO 3166-1 alpha-2 country code.");
}
