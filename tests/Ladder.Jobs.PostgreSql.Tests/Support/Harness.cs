using Ladder.Jobs.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Ladder.Jobs.PostgreSql.Tests.Support;

/// <summary>A store opened the way a queue opens it (a JobStoreContext of our own), recording the wake-ups it raises and what it logs.</summary>
internal sealed class Harness : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly List<string> _woken = [];
    private readonly List<(Func<IReadOnlyList<string>, bool> Condition, TaskCompletionSource Done)> _waiters = [];

    private Harness(PostgresJobStore store, NpgsqlDataSource dataSource, JobStoreContext context, RecordingLoggerProvider logs)
    {
        Store = store;
        DataSource = dataSource;
        Context = context;
        Logs = logs;
    }

    public PostgresJobStore Store { get; }

    public NpgsqlDataSource DataSource { get; }

    public JobStoreContext Context { get; }

    public RecordingLoggerProvider Logs { get; }

    public IReadOnlyList<string> Woken
    {
        get
        {
            lock (_gate)
            {
                return [.. _woken];
            }
        }
    }

    public static async Task<Harness> OpenAsync(
        string connectionString, string schema, Action<PostgresJobStoreOptions>? configure = null, TimeProvider? time = null,
        Action<LadderJobsOptions>? jobs = null, Action<NpgsqlConnectionStringBuilder>? connection = null, RecordingLoggerProvider? logs = null, CancellationToken cancellationToken = default)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = "ladder_jobs_tests" };
        connection?.Invoke(builder);
        var dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        var options = new PostgresJobStoreOptions { Schema = schema };
        configure?.Invoke(options);
        var store = new PostgresJobStore(dataSource, options);
        var queueOptions = new LadderJobsOptions { Path = "unused.db" };
        jobs?.Invoke(queueOptions);
        logs ??= new RecordingLoggerProvider();
        var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        Harness? harness = null;
        var context = new JobStoreContext(queueOptions, time ?? TimeProvider.System, loggerFactory, q => harness!.OnWoken(q), _ => { });
        harness = new Harness(store, dataSource, context, logs);
        try
        {
            await store.OpenAsync(context, cancellationToken);
        }
        catch
        {
            await store.DisposeAsync();
            await dataSource.DisposeAsync();
            throw;
        }

        return harness;
    }

    /// <summary>Waits until the wake-ups seen so far satisfy <paramref name="condition"/>.</summary>
    public Task WaitForWokenAsync(Func<IReadOnlyList<string>, bool> condition, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (condition(_woken))
            {
                return Task.CompletedTask;
            }

            _waiters.Add((condition, done));
        }

        return done.Task.WaitAsync(cancellationToken);
    }

    public Task WaitForWokenAsync(string queue, int times, CancellationToken cancellationToken) =>
        WaitForWokenAsync(w => w.Count(q => q == queue) >= times, cancellationToken);

    private void OnWoken(string queue)
    {
        List<TaskCompletionSource> ready = [];
        lock (_gate)
        {
            _woken.Add(queue);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Condition(_woken))
                {
                    ready.Add(_waiters[i].Done);
                    _waiters.RemoveAt(i);
                }
            }
        }

        foreach (var done in ready)
        {
            done.TrySetResult();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        await DataSource.DisposeAsync();
        Context.LoggerFactory.Dispose();
    }
}

/// <summary>Jobs for the tests.</summary>
internal static class TestJobs
{
    public static NewJob New(string queue = "default", string kind = "test", string? uniqueKey = null, TimeSpan? delay = null, DateTimeOffset? runAt = null, int priority = 0, int maxAttempts = 5, string payload = "{}") =>
        new(queue, kind, payload, priority, runAt, delay ?? TimeSpan.Zero, maxAttempts, null, uniqueKey, null);

    public static ClaimRequest Claim(string queue = "default", int limit = 10, int? startNow = null, TimeSpan? lease = null) =>
        new(queue, limit, startNow ?? limit, lease ?? TimeSpan.FromSeconds(30));
}
