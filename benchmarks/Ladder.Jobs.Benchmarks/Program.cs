using BenchmarkDotNet.Running;
using Ladder.Jobs.Benchmarks;

// Load-style harness modes (end-to-end numbers), then BenchmarkDotNet for the micro benchmarks.
//   dotnet run -c Release --project benchmarks/Ladder.Jobs.Benchmarks -- burn-down [jobs]
//   dotnet run -c Release --project benchmarks/Ladder.Jobs.Benchmarks -- ladder [jobs]   (Ladder.Jobs alone, default options: to profile)
//   dotnet run -c Release --project benchmarks/Ladder.Jobs.Benchmarks -- quartz [jobs]   (peer (c) alone, a smoke run)
//   dotnet run -c Release --project benchmarks/Ladder.Jobs.Benchmarks -- hangfire-sqlite [jobs]   (the durable peer beside Ladder's default, 10,000 by default)
//   dotnet run -c Release --project benchmarks/Ladder.Jobs.Benchmarks -- limits-burn-down [jobs] [rounds]   (100 keys x limit 4 beside plain, interleaved)
//   dotnet run -c Release --project benchmarks/Ladder.Jobs.Benchmarks -- limits-one <jobs> <slots> <keys>   (one burn-down alone, for a profiler; keys 0 is plain;
//     LADDER_BENCH_ANALYZE=1 runs ANALYZE on the file after the enqueue, as a user's PRAGMA optimize would)
//   dotnet run -c Release --project benchmarks/Ladder.Jobs.Benchmarks -- next-run [jobs] [rounds]   (an idle claim's next-run statement before / after the skip scan, N jobs an hour ahead)
//   dotnet run -c Release --project benchmarks/Ladder.Jobs.Benchmarks -- latency [samples]
//   dotnet run -c Release --project benchmarks/Ladder.Jobs.Benchmarks -- memory [depth...]
//   dotnet run -c Release --project benchmarks/Ladder.Jobs.Benchmarks -- idle-schedules [seconds] [counts...]   (idle schedules side by side; default 0, 1, 1000)
//   dotnet run -c Release --project benchmarks/Ladder.Jobs.Benchmarks -- totals [jobs] [rounds]   (a health check's read at a day's retention: counts by queue and state beside totals by state)
//   dotnet run -c Release --project benchmarks/Ladder.Jobs.Benchmarks -- --filter '*' --job short
return args.FirstOrDefault() switch
{
    "burn-down" => await BurnDown.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000),
    "ladder" => await BurnDown.RunLadderOnlyAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000),
    "raw" => await BurnDown.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000, rawOnly: true),
    "quartz" => await BurnDown.RunQuartzOnlyAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1000),
    "hangfire-sqlite" => await BurnDown.RunHangfireSqliteOnlyAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10_000),
    "limits-burn-down" => await LimitedBurnDown.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000, args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 2),
    "limits-one" => await LimitedBurnDown.RunOneAsync(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture), int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture), int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture)),
    "next-run" => await NextRun.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000, args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3),
    "latency" => await Latency.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1000),
    "idle-schedules" => await IdleSchedules.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 60, [.. args.Skip(2).Select(a => int.Parse(a, System.Globalization.CultureInfo.InvariantCulture))]),
    "totals" => await Totals.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000, args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 7),
    "memory" => await MemoryVsDepth.RunAsync([.. args.Skip(1).Select(a => int.Parse(a, System.Globalization.CultureInfo.InvariantCulture))]),
    _ => Run(args),
};

static int Run(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(BurnDown).Assembly).Run(args);
    return 0;
}
