using Ladder.PostgreSql.Testing;
using Npgsql;

namespace Ladder.Jobs.PostgreSql.Benchmarks;

/// <summary>Each part of the run: runs its runners and prints their Markdown tables.</summary>
internal static class Parts
{
    public static async Task DescribeAsync(PostgresServer server, string part, string[] args)
    {
        await using var connection = new NpgsqlConnection(server.ConnectionString());
        await connection.OpenAsync();
        var settings = new List<string>();
        foreach (var name in (string[])["server_version", "fsync", "synchronous_commit", "wal_sync_method", "shared_buffers", "max_connections", "autovacuum_naptime"])
        {
            await using var show = new NpgsqlCommand($"SHOW {name}", connection);
            settings.Add($"{name}={await show.ExecuteScalarAsync()}");
        }

        Console.WriteLine($"# Ladder.Jobs PostgreSQL benchmarks: {part} {string.Join(' ', args.Skip(1))}");
        Console.WriteLine();
        Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm:ss}Z, {Bench.Load()}; throwaway server on loopback: {string.Join(", ", settings)}");
    }

    public static async Task<RawLoop.Result> RawAsync(PostgresServer server, int jobs, int consumers, int batch, bool heading = true)
    {
        if (heading)
        {
            Bench.Heading($"Raw loop: {jobs:N0} jobs, {consumers} consumers, claims of {batch}");
            Console.WriteLine(RawHeader);
        }

        var r = await RawLoop.RunAsync(server, jobs, consumers, batch, explain: heading);
        Console.WriteLine(RawRow(r));
        return r;
    }

    public static async Task<HangfirePeer.Result> HangfireAsync(PostgresServer server, int jobs, bool heading = true)
    {
        if (heading)
        {
            Bench.Heading($"Hangfire.PostgreSql: {jobs:N0} jobs, 4 workers");
            Console.WriteLine("| runner | jobs | enqueue jobs/s | process jobs/s |");
            Console.WriteLine("| --- | --- | ---: | ---: |");
        }

        var r = await HangfirePeer.RunAsync(server, jobs, TimeSpan.FromMinutes(3));
        var note = r.Finished ? $"{r.Jobs:N0}" : $"stopped at {r.Ceiling.TotalMinutes:F0} min: {r.Done:N0} of {r.Jobs:N0}";
        Console.WriteLine($"| (b) Hangfire 1.8 + Hangfire.PostgreSql 1.21, 4 workers | {note} | {Bench.N(r.EnqueueRate)} | {Bench.N(r.ProcessRate)} |");
        return r;
    }

    public static async Task BurnDownAsync(PostgresServer server, int jobs, int hangfireJobs)
    {
        Bench.Heading($"Burn-down: no-op jobs, concurrency 4, side by side (raw {jobs:N0}, raw batch-of-1 {Math.Min(jobs, 10_000):N0}, Hangfire {hangfireJobs:N0})");
        Console.WriteLine(RawHeader);
        var raw = await RawAsync(server, jobs, 4, 64, heading: false);
        var single = await RawAsync(server, Math.Min(jobs, 10_000), 4, 1, heading: false);
        Console.WriteLine();
        Console.WriteLine(Bench.Stamp());
        Console.WriteLine();
        Console.WriteLine("| runner | jobs | enqueue jobs/s | process jobs/s |");
        Console.WriteLine("| --- | --- | ---: | ---: |");
        var hangfire = await HangfireAsync(server, hangfireJobs, heading: false);
        Console.WriteLine();
        Console.WriteLine("| ratio | value |");
        Console.WriteLine("| --- | ---: |");
        Console.WriteLine($"| raw (64) / Hangfire.PostgreSql | {raw.ProcessRate / hangfire.ProcessRate:F0}× |");
        Console.WriteLine($"| raw (1) / Hangfire.PostgreSql | {single.ProcessRate / hangfire.ProcessRate:F1}× |");
        Console.WriteLine($"| raw (64) / raw (1) | {raw.ProcessRate / single.ProcessRate:F1}× |");
        Console.WriteLine($"| the store's goal, 60 % of raw (64) | {Bench.N(0.6 * raw.ProcessRate)} jobs/s |");
        Console.WriteLine($"| the store's goal, 10× Hangfire.PostgreSql | {Bench.N(10 * hangfire.ProcessRate)} jobs/s |");
        Console.WriteLine(Bench.Stamp());
    }

    /// <summary>Issue #10's burn-down through the store: raw (64), Ladder on PostgreSQL, Ladder on SQLite, Hangfire.PostgreSql, one run.</summary>
    public static async Task StoreBurnDownAsync(PostgresServer server, int jobs, int hangfireJobs)
    {
        Bench.Heading($"Burn-down through the store: no-op jobs, concurrency 4, side by side (raw {jobs:N0}, Ladder on PostgreSQL {jobs:N0} after and before the claim fix, Ladder on SQLite {jobs:N0}, Hangfire {hangfireJobs:N0})");
        Console.WriteLine("| runner | jobs | enqueue jobs/s | process jobs/s | load average after it |");
        Console.WriteLine("| --- | ---: | ---: | ---: | --- |");
        var raw = await RawLoop.RunAsync(server, jobs, 4, 64);
        Console.WriteLine($"| (a) raw Npgsql, 4 consumers, claims of 64 | {jobs:N0} | {Bench.N(raw.EnqueueRate)} | {Bench.N(raw.ProcessRate)} | {Bench.Load()} |");
        var store = await StoreRunners.PostgresAsync(server, jobs);
        PrintStore(store);
        var before = await StoreRunners.PostgresAsync(server, jobs, "Ladder.Jobs on PostgreSQL, before: claims may use bitmap scans", o => o.BitmapClaims = true);
        PrintStore(before);
        var sqlite = await StoreRunners.SqliteAsync(jobs);
        PrintStore(sqlite);
        var hangfire = await HangfirePeer.RunAsync(server, hangfireJobs, TimeSpan.FromMinutes(3));
        var note = hangfire.Finished ? $"{hangfire.Jobs:N0}" : $"stopped at {hangfire.Ceiling.TotalMinutes:F0} min: {hangfire.Done:N0} of {hangfire.Jobs:N0}";
        Console.WriteLine($"| (b) Hangfire 1.8 + Hangfire.PostgreSql 1.21, 4 workers | {note} | {Bench.N(hangfire.EnqueueRate)} | {Bench.N(hangfire.ProcessRate)} | {Bench.Load()} |");
        Console.WriteLine();
        Console.WriteLine("| ratio | value | goal |");
        Console.WriteLine("| --- | ---: | --- |");
        Console.WriteLine($"| Ladder on PostgreSQL / raw (64) | {store.ProcessRate / raw.ProcessRate:P0} | ≥ 60 % |");
        Console.WriteLine($"| Ladder on PostgreSQL / Hangfire.PostgreSql | {store.ProcessRate / hangfire.ProcessRate:F1}× | ≥ 10× |");
        Console.WriteLine($"| Ladder on PostgreSQL before (bitmap claims) / raw (64) | {before.ProcessRate / raw.ProcessRate:P0} | ≥ 60 % |");
        Console.WriteLine($"| Ladder on PostgreSQL / before (bitmap claims) | {store.ProcessRate / before.ProcessRate:F2}× | |");
        Console.WriteLine($"| Ladder on PostgreSQL / Ladder on SQLite | {store.ProcessRate / sqlite.ProcessRate:P0} | |");
        Console.WriteLine($"| Ladder on PostgreSQL enqueue / raw enqueue | {store.EnqueueRate / raw.EnqueueRate:P0} | |");
        Console.WriteLine(Bench.Stamp());
    }

    /// <summary>Idle enqueue on host A → handler start on host B, through the store: NOTIFY, and polling at 50 ms and at the default 1 s.</summary>
    public static async Task StoreWakeAsync(PostgresServer server, int samples, bool notifyOnly = false)
    {
        Bench.Heading($"Wake latency through the store: idle enqueue on host A → handler start on host B (two JobQueues, each UsePostgres(connectionString), one database)");
        Console.WriteLine("| mode | samples | enqueue → handler start p50 | p90 | p99 | max | A's EnqueueAsync call p50 | p99 | load average after it |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
        var pause = Bench.IdlePause;
        PrintStoreWake(await StoreWake.RunAsync(server, "LISTEN/NOTIFY (default: debounce 100 ms, poll 1 s)", true, TimeSpan.FromSeconds(1), samples, 20, pause.Min, pause.Max));
        if (notifyOnly)
        {
            return;
        }

        PrintStoreWake(await StoreWake.RunAsync(server, "poll only (UseListenNotify = false), PollInterval 50 ms", false, TimeSpan.FromMilliseconds(50), Math.Min(samples, 500), 5, pause.Min, pause.Max));
        PrintStoreWake(await StoreWake.RunAsync(server, "poll only (UseListenNotify = false), PollInterval 1 s (the default)", false, TimeSpan.FromSeconds(1), Math.Min(samples, 60), 3, TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(1050)));
        Console.WriteLine(Bench.Stamp());
    }

    private static void PrintStoreWake(StoreWake.Result r)
    {
        var c = r.EnqueueToStart;
        Console.WriteLine($"| {r.Mode} | {c.Count:N0} | {Bench.Ms(Bench.Percentile(c, 50))} | {Bench.Ms(Bench.Percentile(c, 90))} | {Bench.Ms(Bench.Percentile(c, 99))} | {Bench.Ms(c[^1])} | {Bench.Ms(Bench.Percentile(r.EnqueueCall, 50))} | {Bench.Ms(Bench.Percentile(r.EnqueueCall, 99))} | {Bench.Load()} |");
    }

    /// <summary>One host vs three host processes on the same database, alternating (1, 3, 1, 3).</summary>
    public static async Task HostsAsync(PostgresServer server, int jobs, int rounds)
    {
        Bench.Heading($"One host vs three host processes on one database: {jobs:N0} no-op jobs enqueued up front, each host concurrency 4 (UsePostgres defaults)");
        Console.WriteLine("| hosts | jobs | process jobs/s | jobs per host | load average after it |");
        Console.WriteLine("| ---: | ---: | ---: | --- | --- |");
        var rates = new Dictionary<int, List<double>> { [1] = [], [3] = [] };
        for (var round = 0; round < rounds; round++)
        {
            foreach (var hosts in (int[])[1, 3])
            {
                var r = await Hosts.RunAsync(server, hosts, jobs);
                rates[hosts].Add(r.ProcessRate);
                Console.WriteLine($"| {hosts} | {jobs:N0} | {Bench.N(r.ProcessRate)} | {string.Join(" / ", r.PerHost.Select(c => c.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)))} | {Bench.Load()} |");
            }
        }

        Console.WriteLine();
        Console.WriteLine($"three hosts / one host, per round: {string.Join(", ", rates[3].Zip(rates[1], (a, b) => (a / b).ToString("F2", System.Globalization.CultureInfo.InvariantCulture)))}");
        Console.WriteLine(Bench.Stamp());
    }

    /// <summary>Table health through the store: a flow of N jobs with the store's own retention purge.</summary>
    public static async Task StoreHealthAsync(PostgresServer server, int jobs, string naptime = "1s")
    {
        Bench.Heading($"Table health through the store: {jobs:N0} no-op jobs flowing through one host (backlog ≤ 20,000), retention: SucceededRetention 0, MaintenanceInterval 1 s, autovacuum_naptime {naptime} (the table's autovacuum options are the store's migration's)");
        var (samples, rate, elapsed) = await StoreHealth.RunAsync(server, jobs, naptime, TimeSpan.Zero, TimeSpan.FromSeconds(1));
        Console.WriteLine("| at | jobs done | rows | n_live_tup | n_dead_tup | jobs table (total) | heap | indexes | job_attempts (total) | autovacuums |");
        Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var s in samples)
        {
            var j = s.Jobs;
            Console.WriteLine($"| {s.Seconds:F0} s | {s.Done:N0} | {j.Rows:N0} | {j.Live:N0} | {j.Dead:N0} | {Bench.Mb(j.Table)} | {Bench.Mb(j.Heap)} | {Bench.Mb(j.Indexes)} | {Bench.Mb(s.AttemptsTable)} | {j.Autovacuums} |");
        }

        Console.WriteLine();
        Console.WriteLine($"processed {jobs:N0} jobs in {elapsed.TotalSeconds:F0} s: {Bench.N(rate)} jobs/s; largest table {Bench.Mb(samples.Max(s => s.Jobs.Table))}, most dead tuples {Bench.N(samples.Max(s => s.Jobs.Dead))}, most rows {Bench.N(samples.Max(s => s.Jobs.Rows))}");
        Console.WriteLine(Bench.Stamp());
    }

    private static void PrintStore(StoreRunners.Result r) =>
        Console.WriteLine($"| {r.Runner} | {r.Jobs:N0} | {Bench.N(r.EnqueueRate)} | {Bench.N(r.ProcessRate)} | {Bench.Load()} |");

    public static async Task WakeAsync(PostgresServer server, int samples)
    {
        Bench.Heading($"Wake latency, idle queue, one job at a time: LISTEN/NOTIFY ({samples:N0} samples) vs polling");
        Console.WriteLine(WakeHeader);
        PrintWake(await WakeLatency.ListenAsync(server, 1, samples));
        PrintWake(await WakeLatency.PollAsync(server, TimeSpan.FromMilliseconds(50), Math.Min(samples, 500)));
        PrintWake(await WakeLatency.PollAsync(server, TimeSpan.FromSeconds(1), Math.Min(samples, 60)));
        Console.WriteLine(Bench.Stamp());
    }

    /// <summary>The raw NOTIFY row of wake, with store-wake's pauses between jobs (150-250 ms), to put beside store-wake-notify.</summary>
    public static async Task WakeIdleAsync(PostgresServer server, int samples)
    {
        Bench.Heading($"Wake latency, raw path, {samples:N0} samples 150-250 ms apart (as store-wake)");
        Console.WriteLine(WakeHeader);
        PrintWake(await WakeLatency.ListenAsync(server, 1, samples, idlePause: Bench.IdlePause));
        Console.WriteLine(Bench.Stamp());
    }

    public static async Task FanOutAsync(PostgresServer server, int samples)
    {
        Bench.Heading($"NOTIFY fan-out: N idle listeners on one channel, every one wakes and tries to claim ({samples:N0} samples each)");
        Console.WriteLine("| listeners | commit → first claimed p50 | p99 | commit → last listener woken p50 | p99 | empty claims per job |");
        Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var n in (int[])[1, 16, 64])
        {
            var r = await WakeLatency.ListenAsync(server, n, samples);
            Console.WriteLine($"| {n} | {Bench.Ms(Bench.Percentile(r.CommitToClaim, 50))} | {Bench.Ms(Bench.Percentile(r.CommitToClaim, 99))} | {Bench.Ms(Bench.Percentile(r.CommitToLastWake, 50))} | {Bench.Ms(Bench.Percentile(r.CommitToLastWake, 99))} | {r.EmptyPerJob(20):F1} |");
        }

        Console.WriteLine(Bench.Stamp());
    }

    public static async Task NotifyCostAsync(PostgresServer server, TimeSpan duration)
    {
        Bench.Heading($"Cost of NOTIFY at commit: single-job transactions from 8 concurrent producers, {duration.TotalSeconds:F0} s each");
        Console.WriteLine("| variant | transactions/s | NOTIFYs sent | commit p50 | p99 | vs no NOTIFY |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        // Unreported warm-up: the first variant would otherwise also pay the JIT and the server's cold start.
        await NotifyCost.RunAsync(server, NotifyCost.Variant.None, 8, TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(100));
        double? baseline = null;
        foreach (var variant in (NotifyCost.Variant[])[NotifyCost.Variant.None, NotifyCost.Variant.Every, NotifyCost.Variant.Debounced, NotifyCost.Variant.EveryAfterCommitAsync])
        {
            var r = await NotifyCost.RunAsync(server, variant, 8, duration, TimeSpan.FromMilliseconds(100));
            var rate = Bench.Rate(r.Transactions, r.Duration);
            baseline ??= rate;
            var name = variant switch
            {
                NotifyCost.Variant.None => "no NOTIFY",
                NotifyCost.Variant.Every => "NOTIFY in every transaction",
                NotifyCost.Variant.EveryAfterCommitAsync => "NOTIFY per job in its own transaction after the commit, synchronous_commit off (2 round trips)",
                _ => "debounced: at most one NOTIFY per queue per 100 ms",
            };
            Console.WriteLine($"| {name} | {Bench.N(rate)} | {Bench.N(r.Notifies)} | {Bench.Ms(Bench.Percentile(r.CommitMs, 50))} | {Bench.Ms(Bench.Percentile(r.CommitMs, 99))} | {rate / baseline.Value:P0} |");
        }

        Console.WriteLine(Bench.Stamp());
    }

    public static async Task StoreNotifyCostAsync(PostgresServer server, TimeSpan duration)
    {
        Bench.Heading($"Cost of NOTIFY through PostgresJobStore.EnqueueAsync: one job per call from 8 concurrent producers, {duration.TotalSeconds:F0} s each");
        Console.WriteLine("| store's NOTIFY | enqueues/s | notifications received | enqueue p50 | p99 | vs poll only |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        await StoreNotifyCost.RunAsync(server, "warm-up", o => o.UseListenNotify = false, 8, TimeSpan.FromSeconds(3));
        double? baseline = null;
        foreach (var (name, configure) in ((string, Action<PostgresJobStoreOptions>)[])[
            ("off (UseListenNotify = false, poll only)", o => o.UseListenNotify = false),
            ("every enqueue (NotifyDebounce = 0)", o => o.NotifyDebounce = TimeSpan.Zero),
            ("debounced per queue (NotifyDebounce = 100 ms, the default)", _ => { }),
        ])
        {
            var r = await StoreNotifyCost.RunAsync(server, name, configure, 8, duration);
            var rate = Bench.Rate(r.Enqueues, r.Duration);
            baseline ??= rate;
            Console.WriteLine($"| {name} | {Bench.N(rate)} | {Bench.N(r.Notifications)} | {Bench.Ms(Bench.Percentile(r.EnqueueMs, 50))} | {Bench.Ms(Bench.Percentile(r.EnqueueMs, 99))} | {rate / baseline.Value:P0} |");
        }

        Console.WriteLine(Bench.Stamp());
    }

    public static async Task ContentionAsync(PostgresServer server, int jobs)
    {
        Bench.Heading($"Claim contention: the raw loop at 4, 16 and 64 concurrent claimers ({jobs:N0} jobs each, claims of 64)");
        Console.WriteLine(RawHeader);
        foreach (var consumers in (int[])[4, 16, 64])
        {
            await RawAsync(server, jobs, consumers, 64, heading: false);
        }

        Console.WriteLine(Bench.Stamp());
    }

    public static async Task HealthAsync(PostgresServer server, int jobs)
    {
        Bench.Heading($"Table health: {jobs:N0} jobs enqueued up front, burnt down by the raw loop (4 × 64), default autovacuum");
        PrintStats(await TableHealth.UpFrontAsync(server, jobs));
        Console.WriteLine(Bench.Stamp());
        foreach (var tuned in (bool[])[false, true])
        {
            Bench.Heading($"Table health: {jobs:N0} jobs flowing through (backlog ≤ 20,000, purge of finished jobs every 1 s in batches of 10,000), {(tuned ? "tuned autovacuum (naptime 1 s; on the table: scale factors 0, thresholds 10,000, cost delay 0)" : "default autovacuum")}");
            var (rows, rate, maxTable, maxDead) = await TableHealth.FlowAsync(server, jobs, tuned);
            PrintStats(rows);
            Console.WriteLine();
            Console.WriteLine($"processed {Bench.N(rate)} jobs/s; sampled every 5 s: largest table {Bench.Mb(maxTable)}, most dead tuples {Bench.N(maxDead)}");
            Console.WriteLine(Bench.Stamp());
        }
    }

    private const string RawHeader = "| runner | jobs | consumers | claim | enqueue jobs/s | process jobs/s | empty claims |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |";

    private const string WakeHeader = "| mode | samples | commit → claimed p50 | p90 | p99 | max | enqueue start → claimed p50 | p99 | the COMMIT itself p50 |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |";

    private static string RawRow(RawLoop.Result r) =>
        $"| (a) raw Npgsql, SKIP LOCKED claim + unnest complete | {r.Jobs:N0} | {r.Consumers} | {r.Batch} | {Bench.N(r.EnqueueRate)} | {Bench.N(r.ProcessRate)} | {r.EmptyClaims:N0} |";

    private static void PrintWake(WakeLatency.Result r)
    {
        var c = r.CommitToClaim;
        Console.WriteLine($"| {r.Mode} | {r.Samples:N0} | {Bench.Ms(Bench.Percentile(c, 50))} | {Bench.Ms(Bench.Percentile(c, 90))} | {Bench.Ms(Bench.Percentile(c, 99))} | {Bench.Ms(c[^1])} | {Bench.Ms(Bench.Percentile(r.EnqueueToClaim, 50))} | {Bench.Ms(Bench.Percentile(r.EnqueueToClaim, 99))} | {Bench.Ms(Bench.Percentile(r.Commit, 50))} |");
    }

    private static void PrintStats(List<TableHealth.Stats> rows)
    {
        Console.WriteLine("| when | rows | n_live_tup | n_dead_tup | pg_total_relation_size | heap | indexes | autovacuums |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var s in rows)
        {
            Console.WriteLine($"| {s.When} | {s.Rows:N0} | {s.Live:N0} | {s.Dead:N0} | {Bench.Mb(s.Table)} | {Bench.Mb(s.Heap)} | {Bench.Mb(s.Indexes)} | {s.Autovacuums} |");
        }
    }
}
