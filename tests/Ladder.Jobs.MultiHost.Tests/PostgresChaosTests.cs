using Ladder.Jobs.MultiHost.Tests.Support;

namespace Ladder.Jobs.MultiHost.Tests;

/// <summary>
/// Three host processes on one PostgreSQL database, killed with SIGKILL and restarted while they work; every
/// connection terminated once and the server restarted once mid-run; one host's clock ten minutes ahead throughout.
/// </summary>
public sealed class PostgresChaosTests
{
    private static Task<ChaosStore> OpenAsync(string folder, CancellationToken ct) => PostgresChaosStore.StartAsync(ct);

    [Test]
    [CancelAfter(300_000)]
    public async Task ThreeHostsOnOneDatabase_KilledRestartedTerminatedAndServerRestarted_EveryJobSucceeds_NoneRunsOnTwoHostsAtOnce_DuplicatesOnlyAfterKills(CancellationToken ct) =>
        await ChaosScenario.RunAsync(OpenAsync, new ChaosPlan { Jobs = 3_000, Kills = 4 }, ct);

    [Test]
    [Category("Soak")]
    [CancelAfter(1_800_000)]
    public async Task Soak_ThreeHostsOnOneDatabase_KilledRestartedTerminatedAndServerRestarted_EveryJobSucceeds_NoneRunsOnTwoHostsAtOnce(CancellationToken ct) =>
        await ChaosScenario.RunAsync(OpenAsync, ChaosPlan.Soak(), ct);
}
