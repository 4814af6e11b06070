using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;
using ZiggyCreatures.Caching.Fusion.Backplane.StackExchangeRedis;
using ZiggyCreatures.Caching.Fusion.Serialization.SystemTextJson;

namespace Ladder.Caching.PostgreSql.Benchmarks.Peers;

/// <summary>
/// One FusionCache 2.9 node: a memory cache plus the StackExchange.Redis backplane on a connection of its own (its own
/// <see cref="ConnectionMultiplexer"/>, named so that the disconnect scenario can find it in <c>CLIENT LIST</c>), and
/// the System.Text.Json serializer. No distributed cache: the comparison is invalidation against invalidation, as
/// Ladder's backplane carries changes, not values. Following FusionCache's docs for a backplane without a distributed
/// cache, automatic notifications are skipped by default and each write asks for its own (<see cref="Notify"/>);
/// otherwise every factory run on one node would evict the entry on the others.
/// </summary>
internal sealed class FusionNode : IAsyncDisposable
{
    /// <summary>Every node uses the same cache name: the backplane's channel is derived from it.</summary>
    private const string CacheName = "ladder-bench";

    private FusionNode(string name, FusionCache cache, ConnectionMultiplexer connection)
    {
        Name = name;
        Cache = cache;
        Connection = connection;
    }

    public string Name { get; }

    public FusionCache Cache { get; }

    public ConnectionMultiplexer Connection { get; }

    /// <summary>Entry options for a write that notifies the other nodes.</summary>
    public static Action<FusionCacheEntryOptions> Notify { get; } = static o => o.SetSkipBackplaneNotifications(false);

    /// <param name="name">The node's name, also its Redis client name.</param>
    /// <param name="endpoint">host:port of Redis (or of a relay in front of it).</param>
    public static async Task<FusionNode> StartAsync(string name, string endpoint)
    {
        var configuration = ConfigurationOptions.Parse(endpoint);
        configuration.ClientName = name;
        configuration.AbortOnConnectFail = false;
        var connection = await ConnectionMultiplexer.ConnectAsync(configuration);
        var options = new FusionCacheOptions
        {
            CacheName = CacheName,
            // Event handlers run inline, so a handler's timestamp is when the entry was removed, not when a
            // thread-pool item got to it.
            EnableSyncEventHandlersExecution = true,
        };
        options.DefaultEntryOptions.Duration = TimeSpan.FromMinutes(30);
        options.DefaultEntryOptions.SkipBackplaneNotifications = true;
        var cache = new FusionCache(options);
        cache.SetupSerializer(new FusionCacheSystemTextJsonSerializer());
        cache.SetupBackplane(new RedisBackplane(new RedisBackplaneOptions
        {
            ConnectionMultiplexerFactory = () => Task.FromResult<IConnectionMultiplexer>(connection),
        }));
        return new FusionNode(name, cache, connection);
    }

    public async ValueTask DisposeAsync()
    {
        Cache.Dispose();
        await Connection.DisposeAsync();
    }
}
