using Ladder.Workers;

/// <summary>Uses Ladder.Workers through its public API, as a user who installed the package would.</summary>
internal static class WorkersUsage
{
    /// <summary>
    /// The same-exe worker pattern: Program.cs calls this first, so this program can start itself as a worker and
    /// <see cref="RunAsync"/> makes real calls through a pool.
    /// </summary>
    public static async Task<int?> RunWorkerIfAskedAsync(string[] args)
    {
        if (!WorkerHost.IsWorkerInvocation(args))
        {
            return null;
        }

        return await new WorkerHost()
            .Map<string, string>("upper", (text, _) => text.ToUpperInvariant())
            .MapBytes("reverse", (bytes, _) => Task.FromResult(bytes.ToArray().Reverse().ToArray()))
            .RunAsync();
    }

    public static async Task RunAsync(List<string> failures)
    {
        try
        {
            CheckApi(failures);
            await CallThroughAPoolAsync(failures);
        }
        catch (Exception ex)
        {
            failures.Add($"Ladder.Workers: {ex.GetType().Name}: {ex.Message}");
        }
    }

    private static void CheckApi(List<string> failures)
    {
        // Bad options: every failure listed in one exception, before any process starts.
        try
        {
            _ = new WorkerPool(new WorkerPoolOptions { WorkerCount = 0 });
            failures.Add("Ladder.Workers: invalid options were accepted");
        }
        catch (Microsoft.Extensions.Options.OptionsValidationException ex)
        {
            if (!ex.Message.Contains("WorkerPath", StringComparison.Ordinal) || !ex.Message.Contains("WorkerCount", StringComparison.Ordinal))
            {
                failures.Add($"Ladder.Workers: validation message lacks a failure: {ex.Message}");
            }
        }

        var options = new WorkerPoolOptions().UseCurrentExecutable();
        if (options.Arguments.SingleOrDefault() != WorkerHost.WorkerSwitch || string.IsNullOrEmpty(options.WorkerPath))
        {
            failures.Add("Ladder.Workers: UseCurrentExecutable did not set the path and the switch");
        }

        if (!WorkerHost.IsWorkerInvocation(["--ladder-worker"]) || WorkerHost.IsWorkerInvocation(["--other"]))
        {
            failures.Add("Ladder.Workers: IsWorkerInvocation is wrong");
        }

        var host = new WorkerHost().Map<int, int>("twice", (x, _) => x * 2);
        try
        {
            host.Map<int, int>("twice", (x, _) => x);
            failures.Add("Ladder.Workers: a duplicate operation was accepted");
        }
        catch (ArgumentException)
        {
        }
    }

    private static async Task CallThroughAPoolAsync(List<string> failures)
    {
        var options = new WorkerPoolOptions { WorkerCount = 1, WarmSpare = false }.UseCurrentExecutable();
        await using var pool = new WorkerPool(options);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var upper = await pool.InvokeAsync<string, string>("upper", "ladder", null, timeout.Token);
        var reversed = await pool.InvokeBytesAsync("reverse", new byte[] { 1, 2, 3 }, null, timeout.Token);
        if (upper.Value != "LADDER" || !reversed.Value.SequenceEqual(new byte[] { 3, 2, 1 }))
        {
            failures.Add($"Ladder.Workers: wrong answers: {upper.Value}, [{string.Join(',', reversed.Value)}]");
        }

        var stats = pool.GetStats();
        Console.WriteLine($"Ladder.Workers: 2 calls through worker {upper.WorkerProcessId}; pool calls={stats.Calls} crashes={stats.Crashes}");
    }
}
