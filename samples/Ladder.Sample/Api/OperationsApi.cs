using Ladder.Sample.Domain;

namespace Ladder.Sample.Api;

internal static class OperationsApi
{
    public static void Map(IEndpointRouteBuilder api)
    {
        api.MapGet("/health", () => Results.Ok(new { status = "healthy" }));
        api.MapGet("/countries", async (LadderDatabase db, CancellationToken ct) => Results.Ok(await db.ListCountriesAsync(ct)));
    }
}
