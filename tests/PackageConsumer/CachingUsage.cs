/// <summary>Uses Ladder.Caching through its public API, as a user who installed the package would.</summary>
internal static class CachingUsage
{
    public static Task RunAsync(List<string> failures)
    {
        // Extended by the Ladder.Caching issue: exercise the package's public entry point and add any failure.
        _ = failures;
        return Task.CompletedTask;
    }
}
