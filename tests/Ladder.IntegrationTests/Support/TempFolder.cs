namespace Ladder.IntegrationTests.Support;

/// <summary>A fresh folder per test (its SQLite file lives there); deleted afterwards (disposing twice is harmless).</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = Directory.CreateTempSubdirectory("ladder-it-").FullName;
    }

    public string Path { get; }

    public void Dispose()
    {
        if (!Directory.Exists(Path))
        {
            return;
        }

        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A process we killed may still hold a file for a moment; the OS temp cleaner gets it.
        }
    }
}
