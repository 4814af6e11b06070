using BenchmarkDotNet.Running;
using Ladder.Workers.Benchmarks;

// `-- load` runs the end-to-end harness (throughput by worker count, deadline precision under load, capacity after a
// kill); `-- interleaved` the call-overhead comparison that survives a shared machine's load swings; anything else
// goes to BenchmarkDotNet (e.g. `--filter *CallOverhead*`).
if (args is ["load", ..])
{
    await LoadHarness.RunAsync();
    return;
}

if (args is ["interleaved", ..])
{
    await InterleavedHarness.RunAsync();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
