namespace Ladder.Caching.Benchmarks;

/// <summary>The cached value of the benchmarks: a small leaderboard row (a mutable POCO, as most apps have).</summary>
public sealed class Poco
{
    public int Id { get; set; }

    public string Name { get; set; } = "";

    public int Mmr { get; set; }
}
