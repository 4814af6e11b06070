using BenchmarkDotNet.Attributes;
using Hangfire;
using Hangfire.InMemory;
using Microsoft.Data.Sqlite;

namespace Ladder.Jobs.Benchmarks;

/// <summary>Enqueue 100 jobs in one call: raw Microsoft.Data.Sqlite inserts in one transaction (baseline) vs Ladder.Jobs vs Hangfire.InMemory.</summary>
[MemoryDiagnoser]
[ShortRunJob]
public class EnqueueBenchmarks
{
    private const int Jobs = 100;
    private string _ladderPath = "";
    private string _rawPath = "";
    private JobQueue _queue = null!;
    private SqliteConnection _raw = null!;
    private SqliteCommand _insert = null!;
    private BackgroundJobClient _hangfire = null!;
    private JobRequest[] _requests = [];

    [Params(SynchronousMode.Full, SynchronousMode.Normal)]
    public SynchronousMode Mode { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _ladderPath = Harness.TempFile("ladder.db");
        _queue = JobQueue.Open(new LadderJobsOptions { Path = _ladderPath, Synchronous = Mode });
        _requests = [.. Enumerable.Range(0, Jobs).Select(i => JobRequest.For(new Noop(i)))];

        _rawPath = Harness.TempFile("raw.db");
        JobQueue.Open(new LadderJobsOptions { Path = _rawPath }).DisposeAsync().AsTask().GetAwaiter().GetResult();
        _raw = new SqliteConnection($"Data Source={_rawPath};Pooling=false");
        _raw.Open();
        using (var pragma = _raw.CreateCommand())
        {
            pragma.CommandText = $"PRAGMA journal_mode = WAL; PRAGMA synchronous = {Mode.ToString().ToUpperInvariant()};";
            pragma.ExecuteNonQuery();
        }

        _insert = _raw.CreateCommand();
        _insert.CommandText = "INSERT INTO ladder_jobs(queue, kind, payload, state, priority, run_at, max_attempts, created_at) VALUES('default', 'noop', $p, 1, 0, 0, 5, 0);";
        _insert.Parameters.Add(new SqliteParameter("$p", "{\"n\":1}"));
        _hangfire = new BackgroundJobClient(new InMemoryStorage(new InMemoryStorageOptions()));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _queue.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _insert.Dispose();
        _raw.Dispose();
        Harness.Delete(_ladderPath);
        Harness.Delete(_rawPath);
    }

    [Benchmark(Baseline = true, Description = "raw Microsoft.Data.Sqlite, 100 inserts in 1 tx")]
    public void RawSqlite()
    {
        using var tx = _raw.BeginTransaction();
        _insert.Transaction = tx;
        for (var i = 0; i < Jobs; i++)
        {
            _insert.ExecuteNonQuery();
        }

        tx.Commit();
    }

    [Benchmark(Description = "Ladder.Jobs EnqueueBatchAsync(100)")]
    public Task<IReadOnlyList<EnqueueResult>> Ladder() => _queue.EnqueueBatchAsync(_requests);

    [Benchmark(Description = "Hangfire.InMemory 100 × Enqueue (not durable)")]
    public void Hangfire()
    {
        for (var i = 0; i < Jobs; i++)
        {
            _hangfire.Enqueue(() => HangfireCounter.Noop());
        }
    }
}
