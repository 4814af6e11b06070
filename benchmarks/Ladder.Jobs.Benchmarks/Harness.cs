namespace Ladder.Jobs.Benchmarks;

internal static class Harness
{
    public static string TempFile(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), "ladder-jobs-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, name);
    }

    public static void Delete(string file)
    {
        try
        {
            Directory.Delete(Path.GetDirectoryName(file)!, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    public static double Rate(int jobs, TimeSpan elapsed) => jobs / elapsed.TotalSeconds;
}

[JobKind("noop")]
public sealed record Noop(int N);
