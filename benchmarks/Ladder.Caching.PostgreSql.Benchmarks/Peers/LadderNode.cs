using Ladder.Caching.PostgreSql.Benchmarks.Infrastructure;
using Npgsql;

namespace Ladder.Caching.PostgreSql.Benchmarks.Peers;

/// <summary>
/// One Ladder.Caching node: a <see cref="LadderCache"/> with one keyed view (<c>item</c>, depending on
/// <c>item.version</c> per key, loaded from the harness's in-process "database") and a <see cref="PostgresBackplane"/> on
/// a data source of its own (so its listener and its writes are its own connections, named by
/// <c>application_name</c>). The backplane is wrapped so the harness sees each change right after the cache applied it.
/// </summary>
internal sealed class LadderNode : IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;

    private LadderNode(string name, NpgsqlDataSource dataSource, PostgresBackplane backplane, LadderCache cache)
    {
        Name = name;
        _dataSource = dataSource;
        Backplane = backplane;
        Cache = cache;
        Items = cache.View<string, long>("item");
    }

    public string Name { get; }

    public PostgresBackplane Backplane { get; }

    public LadderCache Cache { get; }

    public CacheView<string, long> Items { get; }

    /// <summary>The <c>application_name</c> of the node's pooled connections (writes, catch-up reads).</summary>
    public string ApplicationName => Name;

    /// <summary>The <c>application_name</c> of the node's listener connection.</summary>
    public string ListenerApplicationName => Name + "-listener";

    /// <summary>Called after the node's cache applied changes another node published (keys of the changes).</summary>
    public ChangesApplied? Applied { get; set; }

    /// <param name="name">The node's id and the <c>application_name</c> of its connections.</param>
    /// <param name="connectionString">The database (directly, or through a relay).</param>
    /// <param name="load">The view's loader: the current version of a key.</param>
    /// <param name="configure">Backplane options beyond the defaults.</param>
    public static async Task<LadderNode> StartAsync(string name, string connectionString, Func<string, long> load, Action<PostgresBackplaneOptions>? configure = null)
    {
        var dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = name }.ConnectionString);
        var options = new PostgresBackplaneOptions { ListenerApplicationName = name + "-listener" };
        configure?.Invoke(options);
        var backplane = new PostgresBackplane(dataSource, options);
        LadderNode? node = null;
        var hook = new HookedBackplane(backplane, changes => node?.Applied?.Invoke(changes));
        var cache = new LadderCache(
            new LadderCachingOptions { NodeId = name, LogUnknownChanges = false }
                .View<string, long>("item", view => view.DependsOn("item", key => key, "version").Load(load)),
            backplane: hook);
        node = new LadderNode(name, dataSource, backplane, cache);
        // Listening and past its starting position before the harness publishes anything.
        await backplane.StartAsync();
        return node;
    }

    /// <summary>Publishes after the write's commit (the default way): one change to <paramref name="key"/>.</summary>
    public void Publish(string key) => Cache.Publish(new Change("item", key, "version"));

    public async ValueTask DisposeAsync()
    {
        Cache.Dispose();
        await Backplane.DisposeAsync();
        await _dataSource.DisposeAsync();
    }

    /// <summary>
    /// Passes everything through to the real backplane, and calls back after the cache applied another node's
    /// changes (the cache's <see cref="IBackplaneSubscriber.OnChanges"/> has returned, so its counters are bumped).
    /// </summary>
    private sealed class HookedBackplane(PostgresBackplane inner, ChangesApplied applied) : IInvalidationBackplane
    {
        private Hook? _hook;

        public IDisposable Subscribe(IBackplaneSubscriber subscriber)
        {
            _hook = new Hook(subscriber, applied);
            return inner.Subscribe(_hook);
        }

        public void Send(IBackplaneSubscriber source, ReadOnlySpan<Change> changes) => inner.Send(_hook ?? source, changes);
    }

    private sealed class Hook(IBackplaneSubscriber cache, ChangesApplied applied) : IBackplaneSubscriber
    {
        public string NodeId => cache.NodeId;

        public void OnChanges(ReadOnlySpan<Change> changes)
        {
            cache.OnChanges(changes);
            applied(changes);
        }

        public void OnReconnected() => cache.OnReconnected();

        public void OnStarted() => cache.OnStarted();
    }
}

/// <summary>A node's hook: the changes its cache has just applied.</summary>
internal delegate void ChangesApplied(ReadOnlySpan<Change> changes);
