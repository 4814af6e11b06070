using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Ladder.Sample.Cluster;

/// <summary>
/// <c>cluster --hosts 3</c>: a throwaway local PostgreSQL and several ladder hosts over it, on consecutive loopback
/// ports. Ctrl+C (SIGINT) or SIGTERM stops everything: hosts (and their workers), the server, and the temp folder; so
/// does any host dying unexpectedly, which is named. <c>--keep-data DIR</c> keeps the database for a rerun.
/// </summary>
internal static class ClusterCommand
{
    /// <summary>The line naming the temp folder (or the kept one): a launcher can check it is gone afterwards.</summary>
    public const string DataBanner = "Cluster data: ";

    /// <summary>Printed once every host listens; the URLs were printed before it, one per line.</summary>
    public const string ReadyBanner = "Cluster is running";

    public const int HostDied = 1;
    public const int InvalidArguments = 2;
    public const int PostgresMissing = 4;

    public static async Task<int> RunAsync(string[] args)
    {
        var hosts = new Option<int>("--hosts") { Description = "Ladder hosts to start.", DefaultValueFactory = static _ => 3 };
        var port = new Option<int>("--port") { Description = "Port of the first host; the others take the next ones.", DefaultValueFactory = static _ => 5080 };
        var keepData = new Option<string?>("--keep-data") { Description = "Keep the database in this folder (created on the first run, reused after) instead of a temp folder removed at the end." };
        var cluster = new Command("cluster",
            "Starts a throwaway local PostgreSQL (initdb and pg_ctl from PATH or /usr/lib/postgresql/*/bin, or only from the folder " +
            $"{LocalPostgres.BinariesVariable} names) and several ladder hosts sharing it: the ladder's " +
            "tables, the job queue and the cache backplane. Ctrl+C stops everything. Other settings (--Ladder:WorkerCount=1) " +
            "are passed to every host.")
        {
            hosts, port, keepData,
        };
        cluster.TreatUnmatchedTokensAsErrors = false;
        cluster.SetAction(async (result, cancellationToken) =>
        {
            var count = result.GetValue(hosts);
            var first = result.GetValue(port);
            if (count is < 1 or > 16 || first is < 1 || first + count - 1 > 65535)
            {
                await Console.Error.WriteLineAsync("--hosts must be 1 to 16, and --port a port such that every host's port is at most 65535.");
                return InvalidArguments;
            }

            return await RunClusterAsync(count, first, result.GetValue(keepData), [.. result.UnmatchedTokens]);
        });

        var root = new RootCommand("The Ladder sample: with no command, the ladder host; 'cluster' runs several hosts on one local PostgreSQL.") { cluster };

        // No termination timeout: System.CommandLine would otherwise end the process 2 s after Ctrl+C, in the middle
        // of stopping the hosts and the server. The command handles SIGINT and SIGTERM itself.
        return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }

    private static async Task<int> RunClusterAsync(int count, int firstPort, string? keepData, IReadOnlyList<string> extra)
    {
        var output = Console.Out;
        try
        {
            LocalPostgres.EnsureInstalled();
        }
        catch (PostgresMissingException e)
        {
            await Console.Error.WriteLineAsync(e.Message);
            return PostgresMissing;
        }

        var stop = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);

        // A background job of a non-interactive shell (a script's `... &`, some CI runners) starts with SIGINT ignored,
        // and .NET then never delivers it. Ctrl+C, or `kill -INT` from a script, must stop the cluster cleanly.
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
        {
            _ = NativeSignals.SetDefault(NativeSignals.Interrupt, 0);
        }

        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        void Stop(PosixSignalContext context)
        {
            // Ours to handle: the hosts are stopped in order, then the server, then the folder.
            context.Cancel = true;
            stop.TrySetResult(context.Signal == PosixSignal.SIGINT ? "Ctrl+C" : "SIGTERM");
        }

        var temporary = keepData is null;
        var folder = temporary
            ? Directory.CreateTempSubdirectory("ladder-cluster-").FullName
            : Path.GetFullPath(keepData!);
        await output.WriteLineAsync(DataBanner + folder + (temporary ? " (removed at the end)" : " (kept)"));
        LocalPostgres? server = null;
        var members = new List<ClusterMember>();
        var exitCode = 0;
        try
        {
            using var starting = new CancellationTokenSource();
            _ = stop.Task.ContinueWith(static (_, s) => ((CancellationTokenSource)s!).Cancel(), starting, TaskScheduler.Default);
            server = await LocalPostgres.StartAsync(folder, output, starting.Token);
            await output.WriteLineAsync($"PostgreSQL is running on 127.0.0.1:{server.Port} (database '{LocalPostgres.Database}', user '{LocalPostgres.ServerUser}'): {server.ConnectionString}");

            // The first host alone, then the others: the first creates the schema and seeds the demo data (an empty
            // ladder is seeded once, not by every host at once).
            members.Add(ClusterMember.Start(1, firstPort, server.ConnectionString, extra, output));
            await FirstOf(members[0].Ready, stop.Task);
            for (var i = 2; i <= count; i++)
            {
                members.Add(ClusterMember.Start(i, firstPort + i - 1, server.ConnectionString, extra, output));
            }

            foreach (var member in members)
            {
                await FirstOf(member.Ready, stop.Task);
            }

            await output.WriteLineAsync();
            foreach (var member in members)
            {
                await output.WriteLineAsync($"Host {member.Number}: {await member.Ready}  (pid {member.ProcessId})");
            }

            await output.WriteLineAsync($"{ReadyBanner}: {count} host(s) on one PostgreSQL. Open any URL above; Ctrl+C stops everything.");
            await output.FlushAsync();

            var died = members.Select(static m => m.Exited.ContinueWith(_ => m, TaskScheduler.Default)).ToList();
            var ended = await Task.WhenAny([stop.Task, .. died]);
            if (ended != stop.Task && !stop.Task.IsCompleted)
            {
                var member = await (Task<ClusterMember>)ended;
                await Console.Error.WriteLineAsync(
                    $"Host {member.Number} (pid {member.ProcessId}) exited unexpectedly with code {await member.Exited}; stopping the cluster.");
                exitCode = HostDied;
            }
            else
            {
                await output.WriteLineAsync($"{await stop.Task}: stopping the cluster.");
            }
        }
        catch (OperationCanceledException) when (stop.Task.IsCompleted)
        {
            await output.WriteLineAsync($"{await stop.Task} while starting: stopping.");
        }
        catch (InvalidOperationException e)
        {
            // A host that could not start (its port taken, say) or a server that would not start.
            await Console.Error.WriteLineAsync($"The cluster could not start: {e.Message}");
            exitCode = HostDied;
        }
        finally
        {
            await Task.WhenAll(members.Select(static m => m.StopAsync(TimeSpan.FromSeconds(40))));
            foreach (var member in members)
            {
                member.Dispose();
            }

            if (server is not null && await server.StopAsync())
            {
                await output.WriteLineAsync("PostgreSQL stopped.");
            }

            if (temporary)
            {
                TryDelete(folder);
            }

            await output.WriteLineAsync(temporary
                ? "Cluster stopped; its temp folder is removed."
                : $"Cluster stopped; the database stays in {folder} (run again with --keep-data {folder}).");
        }

        return exitCode;
    }

    // Waits for a host to listen, unless a stop comes first (then the caller's stop path runs).
    private static async Task FirstOf(Task<Uri> ready, Task<string> stop)
    {
        if (await Task.WhenAny(ready, stop) == stop)
        {
            throw new OperationCanceledException(await stop);
        }

        await ready;
    }

    private static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"Could not remove {folder}: {e.Message}");
        }
        catch (UnauthorizedAccessException e)
        {
            Console.Error.WriteLine($"Could not remove {folder}: {e.Message}");
        }
    }
}

internal static partial class NativeSignals
{
    public const int Interrupt = 2;

    /// <summary>signal(2): with handler 0 (SIG_DFL), the default disposition; the runtime installs its own on registration.</summary>
    [LibraryImport("libc", EntryPoint = "signal")]
    public static partial nint SetDefault(int signal, nint handler);
}
