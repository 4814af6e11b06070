using System.Globalization;
using Ladder.Caching.PostgreSql.Benchmarks;

// Load-harness modes (Stopwatch, Markdown tables), one switch per part of issue #11's Performance section. Each starts
// its own throwaway PostgreSQL (fsync on) and redis-server on loopback, and stops them at the end.
//   dotnet run -c Release --project benchmarks/Ladder.Caching.PostgreSql.Benchmarks -- latency [samples]      (a)
//   dotnet run -c Release --project benchmarks/Ladder.Caching.PostgreSql.Benchmarks -- throughput [seconds]   (b)
//   dotnet run -c Release --project benchmarks/Ladder.Caching.PostgreSql.Benchmarks -- disconnect             (c)
return args.FirstOrDefault() switch
{
    "latency" => await Latency.RunAsync(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1000),
    "throughput" => await Throughput.RunAsync(TimeSpan.FromSeconds(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5)),
    "disconnect" => await Disconnect.RunAsync(),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: latency [samples] | throughput [seconds per phase] | disconnect");
    return 2;
}
