using System.Globalization;
using Ladder.Jobs.PostgreSql.Benchmarks;
using Ladder.PostgreSql.Testing;

// Issue #10's PostgreSQL groundwork. Every run starts its own throwaway PostgreSQL (fsync and synchronous_commit on,
// loopback) and removes it at the end; each runner gets a database of its own. Prints Markdown.
//   dotnet run -c Release --project benchmarks/Ladder.Jobs.PostgreSql.Benchmarks -- <part> [count]
//   burn-down [jobs]   (a) raw loop (batches of 64 and of 1) and (b) Hangfire.PostgreSql side by side, with ratios
//   store-burn-down [jobs] [hangfire jobs]  raw (64), Ladder on PostgreSQL, Ladder on SQLite, Hangfire.PostgreSql (100,000; 10,000)
//   store [jobs]       Ladder on PostgreSQL alone (to profile)
//   store-wake-notify [samples]   the NOTIFY row of store-wake alone
//   store-wake [samples]   idle enqueue on host A → handler start on host B through the store: NOTIFY (500), polling 50 ms (500) and 1 s (60)
//   hosts [jobs] [rounds]  one host vs three host processes (children of this harness) on one database, alternating (100,000; 2 rounds)
//   store-health [jobs] [naptime]   table size and dead tuples while N jobs flow through the store with its own retention purge (1,000,000; 1s)
//   host <connection string>   (internal: a child of hosts)
//   statements [jobs]  pg_stat_statements over the raw loop and the store's burn-down, plain and keyed (50,000): calls per job, time per
//                      statement, and what the server sessions wait for (sampled)
//   raw [jobs] [consumers] [batch]   the raw loop alone (100,000, 4, 64)
//   hangfire [jobs]    Hangfire 1.8 + Hangfire.PostgreSql alone (10,000)
//   wake [samples]     (c) LISTEN/NOTIFY wake latency (1,000 samples) and polling at 50 ms (500) and 1 s (60)
//   wake-idle [samples]  the raw LISTEN/NOTIFY row of wake with store-wake's idle pauses between jobs (300)
//   notify-cost [s]    (c) single-job transactions from 8 producers: no NOTIFY, NOTIFY each, debounced 100 ms (10 s each)
//   store-notify-cost [s]  the same through PostgresJobStore.EnqueueAsync: NOTIFY off, every enqueue, debounced (10 s each)
//   fan-out [samples]  NOTIFY to 1, 16 and 64 listeners that all try to claim (200 samples each)
//   contention [jobs]  the raw loop at 4, 16 and 64 concurrent claimers (100,000 jobs each)
//   health [jobs]      (d) table size and dead tuples over a 1,000,000-job burn-down, purge, VACUUM, autovacuum settings
//   limits-burn-down [jobs] [rounds]  100 concurrency keys x limit 4 beside plain, interleaved, through the store (100,000, 2)
//   next-run [jobs] [rounds]  an idle claim's next-run statement, before / after the skip scan, with N jobs an hour ahead (100,000, 3)
//   all                burn-down, wake, notify-cost, fan-out, contention (not health: run it alone)
// LADDER_BENCH_NO_RESET=1: the harness's data sources skip Npgsql's session reset on return (No Reset On Close), as
// the store's own data source built from a connection string does.
var part = args.FirstOrDefault() ?? "all";
if (part == "host")
{
    // A child of the hosts part: one host on the database named by args[1].
    return await Hosts.ChildAsync(args[1]);
}

int Arg(int index, int fallback) => args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;

await using var server = await PostgresServer.StartAsync(new PostgresServerOptions { Fsync = true });
await Parts.DescribeAsync(server, part, args);
switch (part)
{
    case "burn-down":
        await Parts.BurnDownAsync(server, Arg(1, 100_000), Arg(2, 10_000));
        break;
    case "store-burn-down":
        await Parts.StoreBurnDownAsync(server, Arg(1, 100_000), Arg(2, 10_000));
        break;
    case "store":
        // Statements slower than 100 ms go to the server's log, copied to stderr at the end (to find stalls), and the
        // plans of those slower than 10 ms (auto_explain, with their actual rows and times: to find bad plans).
        await server.ExecuteAsync("ALTER SYSTEM SET log_min_duration_statement = 100");
        await server.ExecuteAsync("ALTER SYSTEM SET session_preload_libraries = 'auto_explain'");
        await File.AppendAllTextAsync(Path.Combine(server.DataDirectory, "postgresql.conf"), "\nauto_explain.log_min_duration = '10ms'\nauto_explain.log_analyze = on\n");
        await server.ExecuteAsync("SELECT pg_reload_conf()");
        using (var watch = new CancellationTokenSource())
        {
            var watcher = Diagnose.WatchAsync(server, watch.Token);
            Console.WriteLine(await StoreRunners.PostgresAsync(server, Arg(1, 100_000)));
            await watch.CancelAsync();
            await watcher;
        }

        Console.Error.WriteLine(await File.ReadAllTextAsync(server.LogPath));
        break;
    case "store-wake":
        await Parts.StoreWakeAsync(server, Arg(1, 500));
        break;
    case "store-wake-notify":
        await Parts.StoreWakeAsync(server, Arg(1, 500), notifyOnly: true);
        break;
    case "hosts":
        await Parts.HostsAsync(server, Arg(1, 100_000), Arg(2, 2));
        break;
    case "store-health":
        await Parts.StoreHealthAsync(server, Arg(1, 1_000_000), args.Length > 2 ? args[2] : "1s");
        break;
    case "statements":
        await Statements.RunAsync(server, Arg(1, 50_000));
        break;
    case "raw":
        await Parts.RawAsync(server, Arg(1, 100_000), Arg(2, 4), Arg(3, 64));
        break;
    case "hangfire":
        await Parts.HangfireAsync(server, Arg(1, 10_000));
        break;
    case "wake":
        await Parts.WakeAsync(server, Arg(1, 1000));
        break;
    case "wake-idle":
        await Parts.WakeIdleAsync(server, Arg(1, 300));
        break;
    case "notify-cost":
        await Parts.NotifyCostAsync(server, TimeSpan.FromSeconds(Arg(1, 10)));
        break;
    case "store-notify-cost":
        await Parts.StoreNotifyCostAsync(server, TimeSpan.FromSeconds(Arg(1, 10)));
        break;
    case "fan-out":
        await Parts.FanOutAsync(server, Arg(1, 200));
        break;
    case "contention":
        await Parts.ContentionAsync(server, Arg(1, 100_000));
        break;
    case "health":
        await Parts.HealthAsync(server, Arg(1, 1_000_000));
        break;
    case "limits-burn-down":
        await LimitedBurnDown.RunAsync(server, Arg(1, 100_000), Arg(2, 2));
        break;
    case "next-run":
        await NextRun.RunAsync(server, Arg(1, 100_000), Arg(2, 3));
        break;
    case "all":
        await Parts.BurnDownAsync(server, 100_000, 10_000);
        await Parts.WakeAsync(server, 1000);
        await Parts.NotifyCostAsync(server, TimeSpan.FromSeconds(10));
        await Parts.FanOutAsync(server, 200);
        await Parts.ContentionAsync(server, 100_000);
        break;
    default:
        Console.Error.WriteLine($"unknown part '{part}': burn-down, store-burn-down, store, store-wake, store-wake-notify, wake-idle, hosts, store-health, statements, raw, hangfire, wake, notify-cost, store-notify-cost, fan-out, contention, health, limits-burn-down, next-run, all");
        return 2;
}

Console.WriteLine();
Console.WriteLine($"done {Bench.Stamp()}");
return 0;
