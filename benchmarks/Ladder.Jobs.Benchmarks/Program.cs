using BenchmarkDotNet.Running;
using Ladder.Jobs.Benchmarks;

// Load-style harness modes (end-to-end numbers), then BenchmarkDotNet for the micro benchmarks.
//   dotnet run -c Release --project benchmarks/Ladder.Jobs.Benchmarks -- burn-down [jobs]
//   dotnet run -c Release --project benchmarks/Ladder.Jobs.Benchmarks -- ladder [jobs]   (Ladder.Jobs alone, default options: to profile)
//   dotnet run -c Release --project benchmarks/Ladder.Jobs.Benchmarks -- quartz [jobs]   (peer (c) alone, a smoke run)
//   dotnet run -c Release --project benchmarks/Ladder.Jobs.Benchmarks -- hangfire-sqlite [jobs]   (the durable peer beside Ladder's default, 10,000 by default)
//   dotnet run -c Release --project benchmarks/Ladder.Jobs.Benchmarks -- latency [samples]
//   dotnet run -c Release --project benchmarks/Ladder.Jobs.Benchmarks -- memory [depth...]
//   dotnet run -c Release --project benchmarks/Ladder.Jobs.Benchmarks -- idle-schedules [seconds]   (0, 1, 1,000 idle schedules, twice)
//   dotnet run -c Release --project benchmarks/Ladder.Jobs.Benchmarks -- --filter '*' --job short
return args.FirstOrDefault() switch
{
    "burn-down" => await BurnDown.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000),
    "ladder" => await BurnDown.RunLadderOnlyAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000),
    "raw" => await BurnDown.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000, rawOnly: true),
    "quartz" => await BurnDown.RunQuartzOnlyAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1000),
    "hangfire-sqlite" => await BurnDown.RunHangfireSqliteOnlyAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10_000),
    "latency" => await Latency.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1000),
    "idle-schedules" => await IdleSchedules.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 60),
    "memory" => await MemoryVsDepth.RunAsync([.. args.Skip(1).Select(a => int.Parse(a, System.Globalization.CultureInfo.InvariantCulture))]),
    _ => Run(args),
};

static int Run(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(BurnDown).Assembly).Run(args);
    return 0;
}
