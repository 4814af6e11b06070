using Ladder.Caching.PostgreSql.Tests.Support;
using Npgsql;
using static Ladder.Caching.PostgreSql.Tests.Support.Changes;

namespace Ladder.Caching.PostgreSql.Tests;

/// <summary>A role without CREATE on the database, on a change log an owner created: the grants docs/caching/postgresql.md lists are enough.</summary>
public sealed class PermissionTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task ALimitedRole_OnTheOwnersChangeLog_WithTheDocumentedGrants_StartsPublishesAndPrunes(CancellationToken ct)
    {
        var limited = await LimitedRoleOnTheOwnersLogAsync(
            """
            GRANT USAGE ON SCHEMA ladder TO {role};
            GRANT SELECT, INSERT, DELETE ON ladder.cache_changes TO {role};
            GRANT SELECT, UPDATE ON ladder.cache_changes_state TO {role};
            GRANT USAGE ON ALL SEQUENCES IN SCHEMA ladder TO {role};
            """, ct);

        await using var writer = await TestNode.StartAsync(limited, "writer", ct, o => o.RetentionMaxRows = 1);
        await using var reader = await TestNode.StartAsync(limited, "reader", ct);
        writer.Publish(Marked("a"));
        var first = await writer.Backplane.FlushAsync(ct);
        var second = await writer.PublishInTransactionAsync(ct, Marked("b"));
        await reader.Backplane.WaitForSequenceAsync(second, TimeSpan.FromSeconds(30), ct);

        reader.Subscriber.Keys.Should().Equal("a", "b");
        (await writer.Backplane.PruneAsync(ct)).Should().Be(1, "the row limit keeps the newest row only; {0} is pruned", first);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ALimitedRole_WithUsageAndCreateOnTheOwnersEmptySchema_CreatesTheLogItself(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        var database = new NpgsqlConnectionStringBuilder(db).Database!;
        var role = $"app_{Guid.NewGuid():N}"[..20];
        await Server.Instance.ExecuteAsync($"CREATE ROLE {role} LOGIN", cancellationToken: ct);

        // CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema exists: the start must not run it then.
        await Server.Instance.ExecuteAsync($"CREATE SCHEMA ladder; GRANT USAGE, CREATE ON SCHEMA ladder TO {role}", database, ct);
        var limited = new NpgsqlConnectionStringBuilder(db) { Username = role }.ConnectionString;

        await using var writer = await TestNode.StartAsync(limited, "writer", ct);
        await using var reader = await TestNode.StartAsync(limited, "reader", ct);
        var sequence = await writer.PublishInTransactionAsync(ct, Marked("a"));
        await reader.Backplane.WaitForSequenceAsync(sequence, TimeSpan.FromSeconds(30), ct);

        reader.Subscriber.Keys.Should().Equal("a");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ARoleMissingTheSequenceGrant_IsToldAtStartWhatItNeeds(CancellationToken ct)
    {
        var limited = await LimitedRoleOnTheOwnersLogAsync(
            """
            GRANT USAGE ON SCHEMA ladder TO {role};
            GRANT SELECT, INSERT, DELETE ON ladder.cache_changes TO {role};
            GRANT SELECT, UPDATE ON ladder.cache_changes_state TO {role};
            """, ct);
        await using var dataSource = NpgsqlDataSource.Create(limited);
        await using var backplane = new PostgresBackplane(dataSource, new PostgresBackplaneOptions { PruneInterval = Timeout.InfiniteTimeSpan });

        var start = () => backplane.StartAsync(ct);

        var error = (await start.Should().ThrowAsync<PostgresBackplaneSchemaException>()).Which;
        error.SqlState.Should().Be("42501");
        error.Message.Should().Contain("USAGE on the sequence");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ARoleWithoutThePrunePrivileges_StartsPublishesAndReads_AndItsPruneIsToldWhatItNeeds(CancellationToken ct)
    {
        // Found by a black-box try: such a role's PruneAsync threw Npgsql's own PostgresException (42501).
        var limited = await LimitedRoleOnTheOwnersLogAsync(
            """
            GRANT USAGE ON SCHEMA ladder TO {role};
            GRANT SELECT, INSERT ON ladder.cache_changes TO {role};
            GRANT SELECT ON ladder.cache_changes_state TO {role};
            GRANT USAGE ON ALL SEQUENCES IN SCHEMA ladder TO {role};
            """, ct);
        await using var writer = await TestNode.StartAsync(limited, "writer", ct, o => o.RetentionMaxRows = 1);
        await using var reader = await TestNode.StartAsync(limited, "reader", ct);
        writer.Publish(Marked("a"));
        await writer.Backplane.FlushAsync(ct);
        var second = await writer.PublishInTransactionAsync(ct, Marked("b"));
        await reader.Backplane.WaitForSequenceAsync(second, TimeSpan.FromSeconds(30), ct);
        reader.Subscriber.Keys.Should().Equal("a", "b");

        var prune = () => writer.Backplane.PruneAsync(ct);

        var error = (await prune.Should().ThrowAsync<PostgresBackplaneSchemaException>()).Which;
        (error.SqlState, error.Table).Should().Be(("42501", "ladder.cache_changes"));
        error.Message.Should().Contain("Pruning needs DELETE on it and UPDATE on ladder.cache_changes_state");
        error.InnerException.Should().BeOfType<PostgresException>();
    }

    /// <summary>
    /// A login role on a new database whose change log an owner (the server's superuser) created on its start, given
    /// <paramref name="grants"/> (<c>{role}</c> stands for its name); returns the role's connection string.
    /// </summary>
    private static async Task<string> LimitedRoleOnTheOwnersLogAsync(string grants, CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        var role = $"app_{Guid.NewGuid():N}"[..20];
        await Server.Instance.ExecuteAsync($"CREATE ROLE {role} LOGIN", cancellationToken: ct);
        await using (var owner = await TestNode.StartAsync(db, "owner", ct))
        {
        }

        await Server.Instance.ExecuteAsync(grants.Replace("{role}", role, StringComparison.Ordinal), new NpgsqlConnectionStringBuilder(db).Database!, ct);
        return new NpgsqlConnectionStringBuilder(db) { Username = role }.ConnectionString;
    }
}
