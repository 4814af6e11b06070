using Ladder.Jobs.MultiHost.Tests.Support;

namespace Ladder.Jobs.MultiHost.Tests;

/// <summary>Three host processes on one SQLite file, killed with SIGKILL and restarted while they work.</summary>
public sealed class SqliteChaosTests
{
    private static Task<ChaosStore> OpenAsync(string folder, CancellationToken ct) =>
        Task.FromResult<ChaosStore>(new SqliteChaosStore(Path.Combine(folder, "jobs.db")));

    [Test]
    [CancelAfter(180_000)]
    public async Task ThreeHostsOnOneFile_KilledAndRestarted_EveryJobSucceeds_NoneRunsOnTwoHostsAtOnce_DuplicatesOnlyAfterKills(CancellationToken ct) =>
        await ChaosScenario.RunAsync(OpenAsync, new ChaosPlan { Jobs = 2_000, Kills = 4 }, ct);

    [Test]
    [Category("Soak")]
    [CancelAfter(1_800_000)]
    public async Task Soak_ThreeHostsOnOneFile_KilledAndRestartedManyTimes_EveryJobSucceeds_NoneRunsOnTwoHostsAtOnce(CancellationToken ct) =>
        await ChaosScenario.RunAsync(OpenAsync, ChaosPlan.Soak(), ct);
}
