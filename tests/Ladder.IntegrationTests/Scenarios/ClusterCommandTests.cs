using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
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
        using (var interrupt = Process.Start("kill", ["-INT", cluster.Process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await interrupt.WaitForExitAsync(ct);
        }

        var code = await cluster.ExitedAsync(ct);
        code.Should().Be(0, cluster.Output);
        cluster.Output.Should().Contain("Ctrl+C: stopping the cluster.").And.Contain("PostgreSQL stopped.");
        left.Where(ProcessTree.IsAlive).Should().BeEmpty("no host, worker or server process outlives the cluster:\n{0}", cluster.Output);
        Directory.Exists(cluster.DataFolder).Should().BeFalse("the temp folder is removed");
    }

    [Test]
    [Category("Soak")]
    [CancelAfter(300_000)]
    public async Task Cluster_WhenAHostDies_NamesIt_AndStopsEverything(CancellationToken ct)
    {
        using var cluster = await RunningCluster.StartAsync(ct);
        var left = cluster.Everything();
        var victim = cluster.Hosts[1];
        Process.GetProcessById(victim.ProcessId).Kill();

        var code = await cluster.ExitedAsync(ct);
        code.Should().Be(ClusterCommand.HostDied, cluster.Output);
        cluster.Output.Should().Contain($"Host 2 (pid {victim.ProcessId}) exited unexpectedly");
        left.Where(ProcessTree.IsAlive).Should().BeEmpty(cluster.Output);
        Directory.Exists(cluster.DataFolder).Should().BeFalse();
    }

    [GeneratedRegex(@"^Host (\d+): (\S+)  \(pid (\d+)\)$")]
    private static partial Regex HostLine();

    private sealed record ClusterHostLine(int Number, Uri Url, int ProcessId);

    /// <summary>The cluster command as a child process, its output read line by line.</summary>
    private sealed class RunningCluster : IDisposable
    {
        private readonly StringBuilder _output = new();
        private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<ClusterHostLine> _hosts = [];

        private RunningCluster(Process process, int firstPort)
        {
            Process = process;
            FirstPort = firstPort;
        }

        public Process Process { get; }

        public int FirstPort { get; }

        public string DataFolder { get; private set; } = "";

        public List<ClusterHostLine> Hosts => _hosts;

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public static async Task<RunningCluster> StartAsync(CancellationToken ct)
        {
            var port = ConsecutiveFreePorts(3);
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in (string[])[SampleHostProcess.HostAssembly, "cluster", "--hosts", "3", "--port", port.ToString(CultureInfo.InvariantCulture),
                "--Ladder:WorkerCount=1", "--Ladder:DemoData=false", "--Ladder:HeartbeatInterval=00:00:00.5"])
            {
                start.ArgumentList.Add(arg);
            }

            start.Environment["DOTNET_ENVIRONMENT"] = "Production";
            var process = new Process { StartInfo = start, EnableRaisingEvents = true };
            var cluster = new RunningCluster(process, port);
            process.OutputDataReceived += (_, e) => cluster.OnLine(e.Data);
            process.ErrorDataReceived += (_, e) => cluster.OnLine(e.Data);
            process.Exited += (_, _) => cluster._ready.TrySetException(new InvalidOperationException($"cluster exited before it was ready:\n{cluster.Output}"));
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                await cluster._ready.Task.WaitAsync(TimeSpan.FromSeconds(180), ct);
            }
            catch
            {
                cluster.Dispose();
                throw;
            }

            return cluster;
        }

        /// <summary>Every process of the cluster: the command, its hosts and their workers, and the PostgreSQL postmaster.</summary>
        public List<int> Everything()
        {
            var all = new List<int> { Process.Id };
            for (var i = 0; i < all.Count; i++)
            {
                all.AddRange(ProcessTree.ChildrenOf(all[i]));
            }

            var pidFile = Path.Combine(DataFolder, "pgdata", "postmaster.pid");
            all.Add(int.Parse(File.ReadLines(pidFile).First(), CultureInfo.InvariantCulture));
            all.Count.Should().BeGreaterThanOrEqualTo(1 + 3 + 3 + 1, "the command, three hosts, a worker each (and a warm spare) and the server");
            return all;
        }

        public async Task<int> ExitedAsync(CancellationToken ct)
        {
            await Process.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromSeconds(150), ct);
            return Process.ExitCode;
        }

        private void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_output)
            {
                _output.AppendLine(line);
                if (line.StartsWith(ClusterCommand.DataBanner, StringComparison.Ordinal))
                {
                    DataFolder = line[ClusterCommand.DataBanner.Length..].Split(" (")[0];
                }
                else if (HostLine().Match(line) is { Success: true } host)
                {
                    _hosts.Add(new ClusterHostLine(int.Parse(host.Groups[1].Value, CultureInfo.InvariantCulture), new Uri(host.Groups[2].Value),
                        int.Parse(host.Groups[3].Value, CultureInfo.InvariantCulture)));
                }
                else if (line.StartsWith(ClusterCommand.ReadyBanner, StringComparison.Ordinal))
                {
                    _ready.TrySetResult();
                }
            }
        }

        public void Dispose()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
            }

            Process.Dispose();
        }

        private static int ConsecutiveFreePorts(int count)
        {
            for (var attempt = 0; ; attempt++)
            {
                var first = Random.Shared.Next(20_000, 60_000);
                if (Enumerable.Range(first, count).All(IsFree) || attempt > 50)
                {
                    return first;
                }
            }
        }

        private static bool IsFree(int port)
        {
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }
    }
}
