using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Ladder.Jobs.PostgreSql.Tests;

/// <summary>
/// Invalid options, as docs/jobs/guarantees.md says: a <see cref="LadderJobsOptionsException"/> when a queue or store
/// is created directly, one <see cref="OptionsValidationException"/> at host start through DI; either lists the
/// queue's failures and the store's together. No server is needed: nothing connects before the options pass.
/// </summary>
public sealed class OptionsTests
{
    private const string ConnectionString = "Host=127.0.0.1;Port=1;Database=never";

    [Test]
    [CancelAfter(30_000)]
    public async Task AddLadderJobs_UsePostgres_WithInvalidQueueAndStoreOptions_FailsTheHostStart_WithOneOptionsValidationException(CancellationToken ct)
    {
        await using var dataSource = NpgsqlDataSource.Create(ConnectionString);
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddLadderJobs(o =>
        {
            o.LeaseDuration = TimeSpan.Zero;
            o.UsePostgres(dataSource, s => s.Schema = "Bad-Name");
        });
        using var host = builder.Build();

        var start = () => host.StartAsync(ct);

        var failures = (await start.Should().ThrowAsync<OptionsValidationException>()).Which.Failures;
        failures.Should().Contain(f => f.StartsWith("LeaseDuration", StringComparison.Ordinal))
            .And.Contain(f => f.StartsWith("Schema", StringComparison.Ordinal));
    }

    [Test]
    public void JobQueueOpen_UsePostgres_WithInvalidQueueAndStoreOptions_ListsBothInOneLadderJobsOptionsException()
    {
        var options = new LadderJobsOptions { LeaseDuration = TimeSpan.Zero }.UsePostgres(ConnectionString, s => s.Schema = "Bad-Name");

        var open = () => JobQueue.Open(options);

        open.Should().Throw<LadderJobsOptionsException>().Which.Failures.Should()
            .Contain(f => f.StartsWith("LeaseDuration", StringComparison.Ordinal))
            .And.Contain(f => f.StartsWith("Schema", StringComparison.Ordinal));
    }

    [Test]
    public void Schema_OfMaxSchemaLength_IsValid_AndOneMore_IsNot()
    {
        PostgresJobStoreOptions.MaxSchemaLength.Should().Be(50, "the same limit as Ladder.Caching.PostgreSql's names");
        new PostgresJobStoreOptions { Schema = new string('s', PostgresJobStoreOptions.MaxSchemaLength) }.Validate().Should().BeEmpty();
        new PostgresJobStoreOptions { Schema = new string('s', PostgresJobStoreOptions.MaxSchemaLength + 1) }.Validate()
            .Should().ContainSingle().Which.Should().StartWith("Schema").And.Contain("at most 50 characters");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ASchemaOfMaxSchemaLength_Opens_AndAJobEnqueuedOnOneHostRunsOnAnother(CancellationToken ct)
    {
        var database = await Server.NewDatabaseAsync();
        var schema = ("s" + Guid.NewGuid().ToString("N") + new string('x', 50))[..PostgresJobStoreOptions.MaxSchemaLength];
        await using var producer = JobQueue.Open(new LadderJobsOptions().UsePostgres(database, s => s.Schema = schema));
        await using var consumer = JobQueue.Open(new LadderJobsOptions { PollInterval = TimeSpan.FromMinutes(1) }.UsePostgres(database, s => s.Schema = schema));
        await using var processor = new JobProcessor(consumer, new JobHandlerRegistry().Add<Echo>((_, _, _) => Task.CompletedTask));
        await processor.StartAsync(ct);

        // The consumer polls once a minute: the run within the ceiling is the NOTIFY on the channel named by the schema.
        var id = (await producer.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;

        (await producer.WaitForFinishAsync(id, ct))!.Summary.State.Should().Be(JobState.Succeeded);
        await processor.StopAsync(ct);
    }
}
