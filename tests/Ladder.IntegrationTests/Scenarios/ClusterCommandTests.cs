using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Ladder.IntegrationTests.Support;
using Ladder.Sample.Cluster;

namespace Ladder.IntegrationTests.Scenarios;

/// <summary>
/// <c>cluster --hosts 3</c> as a user runs it: a local PostgreSQL and three hosts, every URL printed; SIGINT (what
/// Ctrl+C sends) or a host that dies stops everything, and nothing is left: no process, no temp folder. Without
/// PostgreSQL's programs it says which package to install and starts nothing; <c>--keep-data</c> keeps the database.
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

    [Test]
    [CancelAfter(120_000)]
    public async Task Cluster_WithoutInitdbAndPgCtl_NamesTheDebianPackage_AndStartsNothing(CancellationToken ct)
    {
        using var folder = new TempFolder();
        var noPrograms = Directory.CreateDirectory(Path.Combine(folder.Path, "bin")).FullName;
        var temp = Directory.CreateDirectory(Path.Combine(folder.Path, "tmp")).FullName;
        var marker = Guid.NewGuid().ToString("N");
        var environment = new Dictionary<string, string>
        {
            // The only folder searched, and it is empty: what a machine without PostgreSQL sees, although this one has
            // it on PATH and in /usr/lib/postgresql.
            [LocalPostgres.BinariesVariable] = noPrograms,

            // Where the cluster's temp folder would go; no diagnostics socket of the runtime's there either.
            ["TMPDIR"] = temp,
            ["DOTNET_EnableDiagnostics"] = "0",
            [RunningCluster.MarkerVariable] = marker,
        };
        var started = TimeProvider.System.GetTimestamp();

        var result = await SampleCommand.RunAsync(
            ["cluster", "--hosts", "3", "--port", SampleCommand.FreeLoopbackPort().ToString(CultureInfo.InvariantCulture)], environment, ct);

        var took = TimeProvider.System.GetElapsedTime(started);
        result.ExitCode.Should().Be(ClusterCommand.PostgresMissing, result.ToString());
        result.StandardError.Should().Contain($"PostgreSQL's 'initdb' is not in {noPrograms} ({LocalPostgres.BinariesVariable})")
            .And.Contain("install the Debian package 'postgresql' (sudo apt-get install postgresql)");
        result.StandardOutput.Should().NotContain(ClusterCommand.DataBanner, "nothing is created before the programs are found")
            .And.NotContain("PostgreSQL is running").And.NotContain("[host ");
        Directory.EnumerateFileSystemEntries(temp).Should().BeEmpty("no temp folder is made");
        ProcessTree.Carrying(RunningCluster.MarkerVariable, marker).Should().BeEmpty("no server or host was started");
        took.Should().BeLessThan(TimeSpan.FromSeconds(15), "it stops at the check, before any server or host starts:\n{0}", result);
    }

    [Test]
    [CancelAfter(300_000)]
    public async Task Cluster_WithKeepData_KeepsTheDatabase_AndASecondRunReusesIt(CancellationToken ct)
    {
        // One host is enough: the kept database is the point, and three hosts are started by the tests above.
        using var data = new TempFolder();
        var pgdata = Path.Combine(data.Path, "pgdata");
        var name = $"Kept-{Guid.NewGuid():N}"[..13];
        long id;
        using (var first = await RunningCluster.StartAsync(ct, hosts: 1, keepData: data.Path))
        {
            first.DataFolder.Should().Be(data.Path);
            first.Output.Should().Contain($"Creating a PostgreSQL cluster in {pgdata} (initdb)");
            id = (await first.Client(0).CreatePlayerAsync(name, "SE", ct)).Id;
            var left = first.Everything();

            (await first.InterruptAsync(ct)).Should().Be(0, first.Output);

            first.Output.Should().Contain($"Cluster stopped; the database stays in {data.Path}");
            left.Where(ProcessTree.IsAlive).Should().BeEmpty(first.Output);
            first.Remaining().Should().BeEmpty("the kept database's server is stopped too:\n{0}", first.Output);
        }

        File.Exists(Path.Combine(pgdata, "PG_VERSION")).Should().BeTrue("the folder keeps the database");
        File.Exists(Path.Combine(pgdata, "postmaster.pid")).Should().BeFalse("its server stopped cleanly");

        using (var second = await RunningCluster.StartAsync(ct, hosts: 1, keepData: data.Path))
        {
            second.Output.Should().Contain($"Reusing the PostgreSQL cluster in {pgdata}.").And.NotContain("(initdb)");
            (await second.Client(0).GetProfileAsync(id, ct)).Player.Name.Should().Be(name, "the player registered in the first run is still there");

            (await second.InterruptAsync(ct)).Should().Be(0, second.Output);

            second.Remaining().Should().BeEmpty(second.Output);
        }

        // As root the folder belongs to the postgres user now (the server ran as it); root removes it all the same.
        data.Dispose();
        Directory.Exists(data.Path).Should().BeFalse("the kept folder is the test's to remove");
    }

    [GeneratedRegex(@"^Host (\d+): (\S+)  \(pid (\d+)\)$")]
    private static partial Regex HostLine();

    private sealed record ClusterHostLine(int Number, Uri Url, int ProcessId);
}
