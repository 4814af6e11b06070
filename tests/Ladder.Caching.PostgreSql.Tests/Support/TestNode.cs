using Npgsql;

namespace Ladder.Caching.PostgreSql.Tests.Support;

/// <summary>One node: its own data source (its own connection pool), a backplane and a recording subscriber.</summary>
internal sealed class TestNode : IAsyncDisposable
{
    private readonly IDisposable _subscription;

    private TestNode(string name, NpgsqlDataSource dataSource, PostgresBackplane backplane, RecordingSubscriber subscriber)
    {
        Name = name;
        DataSource = dataSource;
        Backplane = backplane;
        Subscriber = subscriber;
        _subscription = backplane.Subscribe(subscriber);
    }

    public string Name { get; }

    public NpgsqlDataSource DataSource { get; }

    public PostgresBackplane Backplane { get; }

    public RecordingSubscriber Subscriber { get; }

    /// <summary>The listener's application_name, for pg_terminate_backend.</summary>
    public string ListenerName => $"{Name}-listener";

    public static async Task<TestNode> StartAsync(string connectionString, string name, CancellationToken cancellationToken, Action<PostgresBackplaneOptions>? configure = null, TimeProvider? time = null)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        builder.ConnectionStringBuilder.ApplicationName = name;
        var dataSource = builder.Build();
        var options = new PostgresBackplaneOptions
        {
            ListenerApplicationName = $"{name}-listener",
            ReconnectMinDelay = TimeSpan.FromMilliseconds(50),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
            PruneInterval = Timeout.InfiniteTimeSpan,
        };
        configure?.Invoke(options);
        var node = new TestNode(name, dataSource, new PostgresBackplane(dataSource, options, time), new RecordingSubscriber(name));
        await node.Backplane.StartAsync(cancellationToken);

        // The start invalidates what the subscribed cache loaded before it, once; the tests count what comes after.
        var atStart = node.Subscriber.TakeFullInvalidations();
        if (atStart != 1)
        {
            throw new InvalidOperationException($"Expected the one full invalidation of the start, got {atStart}.");
        }

        return node;
    }

    /// <summary>Publishes after commit, as a cache does.</summary>
    public void Publish(params Change[] changes) => Backplane.Send(Subscriber, changes);

    /// <summary>Publishes inside a transaction of its own and commits; returns the sequence.</summary>
    public async Task<long> PublishInTransactionAsync(CancellationToken cancellationToken, params Change[] changes)
    {
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var sequence = await Backplane.PublishInTransactionAsync(transaction, changes, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return sequence;
    }

    public async Task WaitForStateAsync(Func<(long Position, long HoleFrom, bool WindowOpen, bool Listening), bool> condition, CancellationToken cancellationToken)
    {
        while (true)
        {
            var changed = Backplane.StateChanged;
            if (condition(Backplane.State))
            {
                return;
            }

            await changed.WaitAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _subscription.Dispose();
        await Backplane.DisposeAsync();
        await DataSource.DisposeAsync();
    }
}
