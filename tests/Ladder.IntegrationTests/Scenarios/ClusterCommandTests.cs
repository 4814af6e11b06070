using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Ladder.IntegrationTests.Support;
using Ladder.Sample.Cluster;

namespace Ladder.IntegrationTests.Scenarios;

/// <summary>
/// <c>cluster --hosts 3</c> as a user runs it: a local PostgreSQL and three hosts, every URL printed; SIGINT (what
/// Ctrl+C sends) or a host that dies stops everything, and nothing is left: no process, no temp folder.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed partial class ClusterCommandTests
{
    [Test]
    [CancelAfter(300_000)]
    public async Task Cluster_StartsThreeHostsOnOnePostgres_AndCtrlC_StopsEverything_LeavingNothing(CancellationToken ct)
    {
        using var cluster = await RunningCluster.StartAsync(ct);
        cluster.Hosts.Should().HaveCount(3);
        cluster.Hosts.Select(static h => h.Url.Port).Should().Equal(cluster.FirstPort, cluster.FirstPort + 1, cluster.FirstPort + 2);

        // Each host sees all three (their heartbeat rows in the shared database).
        var view = await Eventually.WaitAsync(c => ClusterClient.GetClusterAsync(cluster.Hosts[2].Url, c),
            v => v.Hosts.Count(static h => h.Alive) == 3, TimeSpan.FromSeconds(60), ct, "three live hosts");
        view.Hosts.Select(static h => h.ProcessId).Should().BeEquivalentTo(cluster.Hosts.Select(static h => h.ProcessId));
        view.Database.Should().StartWith("PostgreSQL 127.0.0.1:");

        var left = cluster.Everything();
        var code = await cluster.InterruptAsync(ct);

        code.Should().Be(0, cluster.Output);
        cluster.Output.Should().Contain("Ctrl+C: stopping the cluster.").And.Contain("PostgreSQL stopped.");
        left.Where(ProcessTree.IsAlive).Should().BeEmpty("no host, worker or server process outlives the cluster:\n{0}", cluster.Output);
        cluster.Remaining().Should().BeEmpty("nothing started by the run is left, wherever it was reparented:\n{0}", cluster.Output);
        Directory.Exists(cluster.DataFolder).Should().BeFalse("the temp folder is removed");
    }

    [Test]
    [CancelAfter(300_000)]
    public async Task Cluster_WhenAHostDies_NamesIt_AndStopsEverything(CancellationToken ct)
    {
        using var cluster = await RunningCluster.StartAsync(ct);
        var left = cluster.Everything();
        var victim = cluster.Hosts[1];
        Process.GetProcessById(victim.ProcessId).Kill();

        var code = await cluster.ExitedAsync(ct);

        code.Should().Be(ClusterCommand.HostDied, cluster.Output);
        cluster.Output.Should().Contain($"Host 2 (pid {victim.ProcessId}) exited unexpectedly").And.Contain("PostgreSQL stopped.");
        left.Where(ProcessTree.IsAlive).Should().BeEmpty("the other hosts, every worker (the dead host's too) and the server stop:\n{0}", cluster.Output);
        cluster.Remaining().Should().BeEmpty(cluster.Output);
        Directory.Exists(cluster.DataFolder).Should().BeFalse("the temp folder is removed");
    }

    [GeneratedRegex(@"^Host (\d+): (\S+)  \(pid (\d+)\)$")]
    private static partial Regex HostLine();

    private sealed record ClusterHostLine(int Number, Uri Url, int ProcessId);
}
