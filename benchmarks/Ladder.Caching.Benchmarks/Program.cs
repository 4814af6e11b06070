using BenchmarkDotNet.Running;
using Ladder.Caching.Benchmarks;

// `-- stampede` runs the stampede harness (loads and wall time per peer); anything else goes to BenchmarkDotNet.
if (args.Length > 0 && args[0] == "stampede")
{
    await StampedeHarness.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 200);
    return;
}

if (args.Length > 0 && args[0] == "race")
{
    await RaceHarness.RunAsync();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
