namespace Ladder.Sample.Hosting;

/// <summary>The worker role: the host's pool starts this executable with <see cref="Switch"/>.</summary>
internal static class ParserWorker
{
    public const string Switch = "worker";

    public static Task<int> RunAsync(string[] args) => Task.FromResult(1);
}
