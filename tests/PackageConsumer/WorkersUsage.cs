/// <summary>Uses Ladder.Workers through its public API, as a user who installed the package would.</summary>
internal static class WorkersUsage
{
    public static Task RunAsync(List<string> failures)
    {
        // Extended by the Ladder.Workers issue: exercise the package's public entry point and add any failure.
        _ = failures;
        return Task.CompletedTask;
    }
}
