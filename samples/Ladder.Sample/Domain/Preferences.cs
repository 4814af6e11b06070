namespace Ladder.Sample.Domain;

/// <summary>What a player last chose. Writing preferences changes nothing any ladder view depends on.</summary>
internal sealed record Preferences(IReadOnlyList<string> LastRaces, bool NotifyOnMatch, string? FavoriteMap)
{
    public static Preferences Default { get; } = new([], NotifyOnMatch: true, FavoriteMap: null);
}
