namespace Ladder.Caching.PostgreSql.Tests.Support;

internal static class Changes
{
    /// <summary>A change whose key names it, so tests can follow it across nodes.</summary>
    public static Change Marked(string key) => new("player", key, "mmr");

    public static Change[] Marked(string prefix, int count) => [.. Enumerable.Range(0, count).Select(i => Marked($"{prefix}{i}"))];
}
