using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Ladder.IntegrationTests.Support;
using Ladder.Sample.Cluster;
using Ladder.Sample.Simulate;

namespace Ladder.IntegrationTests.Scenarios;

public sealed partial class ClusterCommandTests
{
    /// <summary>
    /// The cluster command as a child process, its output read line by line. It runs with a unique value in
    /// <see cref="MarkerVariable"/>, which everything it starts inherits: <see cref="Remaining"/> finds what is left of
    /// the run, and disposing kills it (a failed test leaves no postmaster behind).
    /// </summary>
    private sealed class RunningCluster : IDisposable
    {
        public const string MarkerVariable = "LADDER_IT_RUN";

        private readonly StringBuilder _output = new();
        private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<ClusterHostLine> _hosts = [];
        private readonly List<HttpClient> _http = [];
        private readonly string _marker = Guid.NewGuid().ToString("N");
        private readonly int _hostCount;

        private RunningCluster(Process process, int firstPort, int hostCount)
        {
            Process = process;
            FirstPort = firstPort;
            _hostCount = hostCount;
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

        public static async Task<RunningCluster> StartAsync(CancellationToken ct, int hosts = 3, string? keepData = null)
        {
            var port = ConsecutiveFreePorts(hosts);
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in (string[])[SampleHostProcess.HostAssembly, "cluster", "--hosts", hosts.ToString(CultureInfo.InvariantCulture),
                "--port", port.ToString(CultureInfo.InvariantCulture), .. keepData is null ? [] : (string[])["--keep-data", keepData],
                "--Ladder:WorkerCount=1", "--Ladder:DemoData=false", "--Ladder:HeartbeatInterval=00:00:00.5"])
            {
                start.ArgumentList.Add(arg);
            }

            start.Environment["DOTNET_ENVIRONMENT"] = "Production";
            var process = new Process { StartInfo = start, EnableRaisingEvents = true };
            var cluster = new RunningCluster(process, port, hosts);
            start.Environment[MarkerVariable] = cluster._marker;
            process.OutputDataReceived += (_, e) => cluster.OnLine(e.Data);
            process.ErrorDataReceived += (_, e) => cluster.OnLine(e.Data);
            process.Exited += (_, _) =>
            {
                // The output still being read is drained first, so the message carries the host's own error (it ended
                // at "Hosting failed to start" before).
                process.WaitForExit();
                cluster._ready.TrySetException(new InvalidOperationException($"cluster exited before it was ready:\n{cluster.Output}"));
            };
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

        /// <summary>A client of host <paramref name="index"/> (0 is host 1).</summary>
        public LadderClient Client(int index)
        {
            var http = new HttpClient { BaseAddress = Hosts[index].Url, Timeout = TimeSpan.FromSeconds(60) };
            _http.Add(http);
            return new LadderClient(http);
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
            all.Count.Should().BeGreaterThanOrEqualTo(1 + (2 * _hostCount) + 1, "the command, the hosts, a worker each (and a warm spare) and the server");

            // Else an empty Remaining() would prove nothing.
            Remaining().Should().Contain(all, "every process of the run carries the marker");
            return all;
        }

        /// <summary>The live processes that carry this run's marker, the postmaster (reparented when pg_ctl daemonized it) included.</summary>
        public IReadOnlyList<int> Remaining() => ProcessTree.Carrying(MarkerVariable, _marker);

        /// <summary>SIGINT, what Ctrl+C sends; returns the exit code.</summary>
        public async Task<int> InterruptAsync(CancellationToken ct)
        {
            using (var interrupt = Process.Start("kill", ["-INT", Process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await interrupt.WaitForExitAsync(ct);
            }

            return await ExitedAsync(ct);
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
            foreach (var http in _http)
            {
                http.Dispose();
            }

            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
            }

            // After a failed test: the postmaster is outside the command's tree, and would hold the port and the folder.
            foreach (var pid in Remaining())
            {
                try
                {
                    using var left = Process.GetProcessById(pid);
                    left.Kill();
                }
                catch (ArgumentException)
                {
                    // Gone meanwhile.
                }
                catch (InvalidOperationException)
                {
                    // Gone meanwhile.
                }
            }

            Process.Dispose();
        }

        private static int ConsecutiveFreePorts(int count)
        {
            for (var attempt = 0; ; attempt++)
            {
                // Below Linux's ephemeral range (32768-60999 by default), which the OS hands out to outgoing connections
                // and to the port-0 listeners of the PostgreSQL test servers other test projects start meanwhile: a
                // port probed free there was taken before the host bound it (a CI run's host "failed to start").
                var first = Random.Shared.Next(20_000, 32_000 - count);
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
