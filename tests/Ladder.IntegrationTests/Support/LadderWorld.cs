using Ladder.Sample.Api;
using Ladder.Sample.Domain;
using Ladder.Sample.Replays;
using Ladder.Sample.Simulate;

namespace Ladder.IntegrationTests.Support;

/// <summary>Builds ladder situations through the public HTTP API, like a user would.</summary>
internal static class LadderWorld
{
    private static int _names;

    public static async Task<Player> PlayerAsync(LadderClient client, string country, CancellationToken ct)
        => await client.CreatePlayerAsync($"p{Interlocked.Increment(ref _names)}-{Guid.NewGuid():N}"[..20], country, ct);

    public static async Task<(Match Match, ReplaySpec Spec)> MatchAsync(
        LadderClient client, Player a, Race raceA, Player b, Race raceB, int winnerIndex, CancellationToken ct)
    {
        var match = await client.CreateMatchAsync(a.Id, raceA, b.Id, raceB, ct);
        var spec = new ReplaySpec(match.Id, new ReplayPlayer(a.Id, a.Name, raceA), new ReplayPlayer(b.Id, b.Name, raceB), winnerIndex, Seed: (int)match.Id);
        return (match, spec);
    }

    public static Task<ReplayStatus> FinalAsync(LadderClient client, string hash, CancellationToken ct, int ceilingSeconds = 90)
        => Eventually.WaitAsync(c => client.GetReplayStatusAsync(hash, c), static s => s.IsFinal, TimeSpan.FromSeconds(ceilingSeconds), ct, $"replay {hash} to finish");
}
