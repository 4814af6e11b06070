using Ladder.Jobs.PostgreSql.Tests.Support;
using Npgsql;

namespace Ladder.Jobs.PostgreSql.Tests;

/// <summary>
/// A role without CREATE on the database, on a schema an owner prepared: the grants docs/jobs/postgresql.md lists are
/// enough to open the store and run a job, and a missing one is named at open.
/// </summary>
public sealed class PermissionTests
{
    private string _database = "";

    [OneTimeSetUp]
    public async Task CreateDatabaseAsync() => _database = await Server.NewDatabaseAsync();

    [Test]
    [CancelAfter(60_000)]
    public async Task ALimitedRole_OnASchemaTheOwnerMigrated_WithTheDocumentedGrants_OpensTheStoreAndRunsAJob(CancellationToken ct)
    {
        var (role, schema) = await NewRoleAndSchemaAsync(ct);
        await MigrateAsOwnerAsync(schema, ct);
        await ExecuteAsync(
            $"""
            GRANT USAGE ON SCHEMA {schema} TO {role};
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role};
            GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {role};
            """, ct);

        await RunAJobAsync(role, schema, ct);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ALimitedRole_WithTheOwnersDefaultPrivileges_OpensTheStoreTheOwnerMigratedAfterwards(CancellationToken ct)
    {
        var (role, schema) = await NewRoleAndSchemaAsync(ct);

        // Set before the owner creates the tables: they (and a later version's tables) are granted as they are created.
        await ExecuteAsync(
            $"""
            GRANT USAGE ON SCHEMA {schema} TO {role};
            ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role};
            ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE ON SEQUENCES TO {role};
            """, ct);
        await MigrateAsOwnerAsync(schema, ct);

        await RunAJobAsync(role, schema, ct);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ALimitedRole_WithUsageAndCreateOnAnEmptySchema_MigratesItAndRunsAJob(CancellationToken ct)
    {
        var (role, schema) = await NewRoleAndSchemaAsync(ct);
        await ExecuteAsync($"GRANT USAGE, CREATE ON SCHEMA {schema} TO {role}", ct);

        await RunAJobAsync(role, schema, ct);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ARoleMissingTheSequenceGrant_IsToldAtOpenWhatToGrant(CancellationToken ct)
    {
        var (role, schema) = await NewRoleAndSchemaAsync(ct);
        await MigrateAsOwnerAsync(schema, ct);
        await ExecuteAsync(
            $"""
            GRANT USAGE ON SCHEMA {schema} TO {role};
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role};
            """, ct);

        var open = () => Harness.OpenAsync(As(role), schema, cancellationToken: ct);

        var error = (await open.Should().ThrowAsync<PostgresJobStoreException>()).Which;
        error.Problem.Should().Be(PostgresJobStoreProblem.PermissionDenied);
        error.SqlState.Should().Be("42501");
        error.Message.Should().Contain($"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {role}");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ARoleMissingATableGrant_IsToldAtOpenWhatToGrant(CancellationToken ct)
    {
        var (role, schema) = await NewRoleAndSchemaAsync(ct);
        await MigrateAsOwnerAsync(schema, ct);
        await ExecuteAsync(
            $"""
            GRANT USAGE ON SCHEMA {schema} TO {role};
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role};
            REVOKE DELETE ON {schema}.jobs FROM {role};
            GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {role};
            """, ct);

        var open = () => Harness.OpenAsync(As(role), schema, cancellationToken: ct);

        var error = (await open.Should().ThrowAsync<PostgresJobStoreException>()).Which;
        error.Problem.Should().Be(PostgresJobStoreProblem.PermissionDenied);
        error.Message.Should().Contain($"DELETE ON {schema}.jobs");
        error.Message.Should().Contain($"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ARoleWithoutUsageOnTheSchema_IsToldAtOpenWhatToGrant(CancellationToken ct)
    {
        var (role, schema) = await NewRoleAndSchemaAsync(ct);
        await MigrateAsOwnerAsync(schema, ct);

        var open = () => Harness.OpenAsync(As(role), schema, cancellationToken: ct);

        var error = (await open.Should().ThrowAsync<PostgresJobStoreException>()).Which;
        error.Problem.Should().Be(PostgresJobStoreProblem.PermissionDenied);
        error.Message.Should().Contain($"GRANT USAGE ON SCHEMA {schema} TO {role}");
    }

    // A login role with no CREATE on the database (PostgreSQL 15 grants PUBLIC none, nor CREATE on schema public) and
    // a schema the owner (the server's superuser) created.
    private async Task<(string Role, string Schema)> NewRoleAndSchemaAsync(CancellationToken ct)
    {
        var role = Server.NewName("app");
        var schema = Server.NewName("owned");
        await Server.Instance.ExecuteAsync($"CREATE ROLE {role} LOGIN", cancellationToken: ct);
        await ExecuteAsync($"CREATE SCHEMA {schema}", ct);
        return (role, schema);
    }

    private async Task MigrateAsOwnerAsync(string schema, CancellationToken ct)
    {
        await using var owner = await Harness.OpenAsync(_database, schema, cancellationToken: ct);
    }

    private async Task RunAJobAsync(string role, string schema, CancellationToken ct)
    {
        await using var queue = JobQueue.Open(new LadderJobsOptions().UsePostgres(As(role), s => s.Schema = schema));
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((_, _, _) => Task.CompletedTask));
        await processor.StartAsync(ct);

        var id = (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;

        (await queue.WaitForFinishAsync(id, ct))!.Summary.State.Should().Be(JobState.Succeeded);
        await processor.StopAsync(ct);
    }

    private Task ExecuteAsync(string sql, CancellationToken ct) =>
        Server.Instance.ExecuteAsync(sql, new NpgsqlConnectionStringBuilder(_database).Database!, ct);

    private string As(string role) => new NpgsqlConnectionStringBuilder(_database) { Username = role }.ConnectionString;
}
