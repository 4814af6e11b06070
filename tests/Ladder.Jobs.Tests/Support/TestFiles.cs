namespace Ladder.Jobs.Tests.Support;

/// <summary>A fresh temp folder per test, deleted afterwards.</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ladder-jobs-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A killed child may still hold a file for a moment; the OS temp cleanup gets it.
        }
    }
}

/// <summary>Base of the test classes that open queues on files: a fresh <see cref="TempFolder"/> per test.</summary>
public abstract class TempFolderTests
{
    protected TempFolder Folder { get; private set; } = null!;

    [SetUp]
    public void CreateFolder() => Folder = new TempFolder();

    [TearDown]
    public void DeleteFolder() => Folder.Dispose();
}

/// <summary>Reads a job's row straight from the file, as another process would see it.</summary>
public static class JobRows
{
    /// <summary>Whether the job's current lease is recorded as having started its handler (schema 2).</summary>
    public static long HandlerStarted(string path, long id)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT handler_started FROM ladder_jobs WHERE id = $id;";
        command.Parameters.AddWithValue("$id", id);
        return (long)command.ExecuteScalar()!;
    }
}

/// <summary>Options tuned for tests: short intervals so real-time tests finish quickly.</summary>
public static class TestOptions
{
    public static LadderJobsOptions For(string path, Action<LadderJobsOptions>? configure = null)
    {
        var options = new LadderJobsOptions
        {
            Path = path,
            PollInterval = TimeSpan.FromSeconds(30), // Long on purpose: a test that finishes proves a wake-up, not a poll.
            ShutdownGrace = TimeSpan.FromSeconds(2),
            RetryBaseDelay = TimeSpan.Zero,
            RetryMaxDelay = TimeSpan.Zero,
        };
        configure?.Invoke(options);
        return options;
    }
}

[JobKind("echo")]
public sealed record Echo(int N);

[JobKind("other")]
public sealed record Other(string Text);
