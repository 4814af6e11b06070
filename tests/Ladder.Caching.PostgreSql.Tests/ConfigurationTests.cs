using Ladder.Caching.PostgreSql.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Ladder.Caching.PostgreSql.Tests;

public sealed class ConfigurationTests
{
    [Test]
    public void Options_Invalid_ListEveryProblemAtOnce()
    {
        using var dataSource = NpgsqlDataSource.Create("Host=127.0.0.1");
        var options = new PostgresBackplaneOptions
        {
            Schema = "Bad-Name",
            Channel = "",
            MaxChangesPerRow = 0,
            ReconnectMinDelay = TimeSpan.FromSeconds(-1),
            MaxPayloadBytes = 8000,
            PruneInterval = TimeSpan.Zero,
        };

        var create = () => new PostgresBackplane(dataSource, options);

        var thrown = create.Should().Throw<PostgresBackplaneConfigurationException>().Which;
        thrown.Failures.Should().HaveCount(6);
        thrown.Failures.Should().Contain(f => f.StartsWith("Schema ", StringComparison.Ordinal))
            .And.Contain(f => f.StartsWith("Channel ", StringComparison.Ordinal))
            .And.Contain(f => f.StartsWith("MaxChangesPerRow ", StringComparison.Ordinal))
            .And.Contain(f => f.StartsWith("ReconnectMinDelay ", StringComparison.Ordinal))
            .And.Contain(f => f.StartsWith("MaxPayloadBytes ", StringComparison.Ordinal))
            .And.Contain(f => f.StartsWith("PruneInterval ", StringComparison.Ordinal));
        thrown.Should().BeAssignableTo<LadderCachingException>();
    }

    [Test]
    public void Options_ListenerProbe_IsValidatedWithATimerLimit_AndInfiniteDisablesTheProbe()
    {
        var invalid = new PostgresBackplaneOptions
        {
            ListenerProbeInterval = TimeSpan.Zero,
            ListenerProbeTimeout = TimeSpan.FromDays(50),
        };

        invalid.Validate().Should().HaveCount(2)
            .And.Contain(f => f.StartsWith("ListenerProbeInterval ", StringComparison.Ordinal))
            .And.Contain(f => f.StartsWith("ListenerProbeTimeout ", StringComparison.Ordinal));
        new PostgresBackplaneOptions { ListenerProbeInterval = Timeout.InfiniteTimeSpan }.Validate().Should().BeEmpty();
        new PostgresBackplaneOptions { ListenerProbeTimeout = Timeout.InfiniteTimeSpan }.Validate().Should().ContainSingle(f => f.StartsWith("ListenerProbeTimeout ", StringComparison.Ordinal));
    }

    [Test]
    public void Options_NamesOf50Characters_AreValid_And51_AreNot()
    {
        // The same limit as Ladder.Jobs.PostgreSql's schema (PostgresJobStoreOptions.MaxSchemaLength).
        var fifty = new string('n', 50);
        new PostgresBackplaneOptions { Schema = fifty, Table = fifty, Channel = fifty }.Validate().Should().BeEmpty();

        var failures = new PostgresBackplaneOptions { Schema = fifty + "n", Table = fifty + "n", Channel = fifty + "n" }.Validate();

        failures.Should().HaveCount(3).And.OnlyContain(f => f.Contains("at most 50 characters", StringComparison.Ordinal));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Start_WithNamesOf50Characters_CreatesTheLog_AndDeliversAChange(CancellationToken ct)
    {
        // The longest derived name is the index {Table}_created_at: 61 bytes, within PostgreSQL's 63.
        var db = await Server.NewDatabaseAsync();
        static void Long(PostgresBackplaneOptions o)
        {
            o.Schema = new string('s', 50);
            o.Table = new string('t', 50);
            o.Channel = new string('c', 50);
        }

        await using var writer = await TestNode.StartAsync(db, "writer", ct, Long);
        await using var reader = await TestNode.StartAsync(db, "reader", ct, Long);

        writer.Publish(new Change("player", "42", "mmr"));
        await reader.Subscriber.WaitForKeysAsync(["42"], ct);
        reader.Subscriber.Keys.Should().Equal("42");
    }

    [Test]
    public void Options_Defaults_AreValid() => new PostgresBackplaneOptions().Validate().Should().BeEmpty();

    [Test]
    [CancelAfter(60_000)]
    public async Task Start_WhenTheTableIsMissingAndCreationIsOff_ThrowsATypedSchemaError(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        await using var dataSource = NpgsqlDataSource.Create(db);
        await using var backplane = new PostgresBackplane(dataSource, new PostgresBackplaneOptions { CreateSchema = false, Schema = "app" });

        var start = () => backplane.StartAsync(ct);

        var thrown = (await start.Should().ThrowAsync<PostgresBackplaneSchemaException>()).Which;
        thrown.Table.Should().Be("app.cache_changes");
        thrown.SqlState.Should().Be("42P01");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Start_WhenTheSequenceCachesNumbersPerSession_ThrowsATypedSchemaError(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        await using (var owner = await TestNode.StartAsync(db, "owner", ct))
        {
            // The tables exist now.
        }

        // With CACHE > 1 each session takes numbers in blocks: a lower number can be taken after a higher one (by a
        // transaction with a later id), which breaks the proof that lets a node skip a hole.
        await Server.Instance.ExecuteAsync("ALTER SEQUENCE ladder.cache_changes_seq_seq CACHE 10", new NpgsqlConnectionStringBuilder(db).Database!, ct);
        await using var dataSource = NpgsqlDataSource.Create(db);
        await using var backplane = new PostgresBackplane(dataSource);

        var start = () => backplane.StartAsync(ct);

        var thrown = (await start.Should().ThrowAsync<PostgresBackplaneSchemaException>()).Which;
        thrown.SqlState.Should().Be("55000");
        thrown.Message.Should().Contain("CACHE 1");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Start_WhenTheUserLacksPrivileges_ThrowsATypedSchemaError(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        await using (var owner = await TestNode.StartAsync(db, "owner", ct))
        {
            // The tables exist now (created by the superuser).
        }

        var role = $"r{Guid.NewGuid():N}"[..20];
        await Server.Instance.ExecuteAsync($"CREATE ROLE {role} LOGIN", cancellationToken: ct);
        var builder = new NpgsqlConnectionStringBuilder(db) { Username = role };
        await using var dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        await using var backplane = new PostgresBackplane(dataSource);

        var start = () => backplane.StartAsync(ct);

        // No USAGE on the schema: the server refuses, and the error says so.
        var thrown = (await start.Should().ThrowAsync<PostgresBackplaneSchemaException>()).Which;
        thrown.SqlState.Should().Be("42501");
        thrown.InnerException.Should().BeOfType<PostgresException>();

        // USAGE but no table privileges: the start-up check lists what is needed.
        await Server.Instance.ExecuteAsync($"GRANT USAGE ON SCHEMA ladder TO {role}", builder.Database!, ct);
        thrown = (await start.Should().ThrowAsync<PostgresBackplaneSchemaException>()).Which;
        thrown.SqlState.Should().Be("42501");
        thrown.Message.Should().Contain("SELECT and INSERT");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Subscribe_ASecondCache_IsRefused(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        await using var node = await TestNode.StartAsync(db, "a", ct);

        var second = () => node.Backplane.Subscribe(new RecordingSubscriber("b"));

        second.Should().Throw<InvalidOperationException>().WithMessage("*one backplane serves one cache*");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task UsePostgresBackplane_ReplacesTheInProcessBackplane_AndTheCacheUsesIt(CancellationToken ct)
    {
        var db = await Server.NewDatabaseAsync();
        await using var dataSource = NpgsqlDataSource.Create(db);
        var services = new ServiceCollection()
            .AddLadderCaching(c => c.Entity("player", "mmr").View<string, string>("v", v => v.DependsOn("player", "mmr").Load(k => k)))
            .UsePostgresBackplane(dataSource, o => o.Channel = "di_test");
        await using var provider = services.BuildServiceProvider();

        var backplane = provider.GetRequiredService<PostgresBackplane>();
        provider.GetRequiredService<IInvalidationBackplane>().Should().BeSameAs(backplane);
        var cache = provider.GetRequiredService<LadderCache>();
        await backplane.StartAsync(ct);

        cache.Publish(new Change("player", "1", "mmr"));
        var sequence = await backplane.FlushAsync(ct);
        sequence.Should().BeGreaterThan(0);
        backplane.InstanceId.Should().StartWith(cache.NodeId + "/");
    }

    [Test]
    public void UsePostgresBackplane_WithInvalidOptions_FailsOnResolveWithEveryProblem()
    {
        using var dataSource = NpgsqlDataSource.Create("Host=127.0.0.1");
        var services = new ServiceCollection().UsePostgresBackplane(dataSource, o =>
        {
            o.Table = "";
            o.CatchUpBatchSize = -1;
        });
        using var provider = services.BuildServiceProvider();

        var resolve = () => provider.GetRequiredService<IOptions<PostgresBackplaneOptions>>().Value;

        resolve.Should().Throw<OptionsValidationException>().Which.Failures.Should().HaveCount(2);
    }
}
