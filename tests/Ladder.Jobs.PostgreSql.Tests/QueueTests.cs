using Ladder.Jobs.PostgreSql.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace Ladder.Jobs.PostgreSql.Tests;

public sealed record Echo(int N);

/// <summary>The queue, the processor and DI on the PostgreSQL store: the code written for SQLite, unchanged but for one line.</summary>
public sealed class QueueTests
{
    private string _database = "";

    [OneTimeSetUp]
    public async Task CreateDatabaseAsync() => _database = await Server.NewDatabaseAsync();

    [Test]
    [CancelAfter(60_000)]
    public async Task AddLadderJobs_UsePostgres_RunsHandlers_AndIsHealthy(CancellationToken ct)
    {
        await using var dataSource = NpgsqlDataSource.Create(_database);
        var seen = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddLadderJobs(o => o.UsePostgres(dataSource, s => s.Schema = "di_jobs"))
            .AddHandler<Echo>((args, _, _) =>
            {
                seen.TrySetResult(args.N);
                return Task.CompletedTask;
            });
        using var host = builder.Build();
        await host.StartAsync(ct);

        var queue = host.Services.GetRequiredService<JobQueue>();
        var id = (await queue.EnqueueAsync(new Echo(7), cancellationToken: ct)).JobId;

        (await seen.Task.WaitAsync(ct)).Should().Be(7);
        (await queue.WaitForFinishAsync(id, ct))!.Summary.State.Should().Be(JobState.Succeeded);
        queue.Store.Should().BeOfType<PostgresJobStore>().Which.Schema.Should().Be("di_jobs");
        var health = await host.Services.GetRequiredService<JobQueueHealthCheck>().CheckHealthAsync(new HealthCheckContext(), ct);
        health.Status.Should().Be(HealthStatus.Healthy);
        await host.StopAsync(ct);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AJobEnqueuedOnOneHost_RunsOnAnother_WokenByNotify(CancellationToken ct)
    {
        var schema = Server.NewName("hosts");
        var options = () => new LadderJobsOptions { PollInterval = TimeSpan.FromMinutes(1) }.UsePostgres(_database, s => s.Schema = schema);
        await using var producer = await JobQueue.OpenAsync(new PostgresJobStore(_database, new PostgresJobStoreOptions { Schema = schema }), new LadderJobsOptions(), cancellationToken: ct);
        await using var consumer = JobQueue.Open(options());
        var started = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var processor = new JobProcessor(consumer, new JobHandlerRegistry().Add<Echo>((_, context, _) =>
        {
            started.TrySetResult(TimeProvider.System.GetTimestamp());
            return Task.CompletedTask;
        }));
        await processor.StartAsync(ct);

        // The consumer polls once a minute: a start within the test's ceiling is the NOTIFY's doing.
        var enqueued = TimeProvider.System.GetTimestamp();
        var id = (await producer.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;
        var at = await started.Task.WaitAsync(ct);

        TestContext.Progress.WriteLine($"enqueue on one host -> handler start on another: {TimeProvider.System.GetElapsedTime(enqueued, at).TotalMilliseconds:F1} ms (load {File.ReadAllText("/proc/loadavg").Split(' ')[0]})");
        (await producer.WaitForFinishAsync(id, ct))!.Summary.State.Should().Be(JobState.Succeeded);
        await processor.StopAsync(ct);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task QueueEnlist_OfAnNpgsqlTransaction_RunsTheJobOnlyIfCommitted(CancellationToken ct)
    {
        var schema = Server.NewName("enlist");
        await using var dataSource = NpgsqlDataSource.Create(_database);
        await using var queue = JobQueue.Open(new LadderJobsOptions().UsePostgres(dataSource, s => s.Schema = schema));
        var ran = new List<int>();
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((args, _, _) =>
        {
            lock (ran)
            {
                ran.Add(args.N);
            }

            return Task.CompletedTask;
        }));
        await processor.StartAsync(ct);

        long rolledBack;
        await using (var connection = await dataSource.OpenConnectionAsync(ct))
        await using (var transaction = await connection.BeginTransactionAsync(ct))
        {
            using var jobs = queue.Enlist(transaction);
            rolledBack = (await jobs.EnqueueAsync(JobRequest.For(new Echo(1)), ct)).JobId;
            await transaction.RollbackAsync(ct);
        }

        long committed;
        await using (var connection = await dataSource.OpenConnectionAsync(ct))
        await using (var transaction = await connection.BeginTransactionAsync(ct))
        {
            using var jobs = queue.Enlist(transaction);
            committed = (await jobs.EnqueueAsync(JobRequest.For(new Echo(2)), ct)).JobId;
            await jobs.CommitAsync(ct);
        }

        (await queue.WaitForFinishAsync(committed, ct))!.Summary.State.Should().Be(JobState.Succeeded);
        (await queue.GetJobAsync(rolledBack, ct)).Should().BeNull();
        lock (ran)
        {
            ran.Should().Equal(2);
        }

        await processor.StopAsync(ct);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Enlist_OnAQueueOfAnotherStore_SaysWhy(CancellationToken ct)
    {
        var folder = Directory.CreateTempSubdirectory("ladder-pgjobs-").FullName;
        try
        {
            await using var queue = JobQueue.Open(new LadderJobsOptions { Path = Path.Combine(folder, "jobs.db") });
            await using var connection = new NpgsqlConnection(_database);
            await connection.OpenAsync(ct);
            await using var transaction = await connection.BeginTransactionAsync(ct);

            var enlist = () => queue.Enlist(transaction);

            enlist.Should().Throw<InvalidOperationException>().WithMessage("*not a PostgresJobStore*");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
