using System.Diagnostics;
using Ladder.Caching.PostgreSql.Benchmarks.Infrastructure;
using Ladder.Caching.PostgreSql.Benchmarks.Peers;
using Ladder.PostgreSql.Testing;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;

namespace Ladder.Caching.PostgreSql.Benchmarks;

/// <summary>Part (c), the peer: FusionCache 2.9 + Redis backplane; the reader reaches Redis through a relay.</summary>
internal static partial class Disconnect
{
    private static async Task<Outcome> FusionCacheAsync(RedisServer redis)
    {
        var database = new long[Keys];
        await using var relay = new LoopbackRelay(redis.Port);
        await using var writer = await FusionNode.StartAsync("fusion-writer", redis.Endpoint);
        await using var reader = await FusionNode.StartAsync("fusion-reader", $"127.0.0.1:{relay.Port}");
        // A direct admin connection (CLIENT LIST / CLIENT KILL need admin mode), not through the relay.
        var adminConfiguration = ConfigurationOptions.Parse(redis.Endpoint);
        adminConfiguration.AllowAdmin = true;
        await using var admin = await ConnectionMultiplexer.ConnectAsync(adminConfiguration);
        var server = admin.GetServer(redis.Endpoint);

        var applied = 0;
        var probe = new Signal();
        reader.Cache.Events.Memory.Remove += (_, e) =>
        {
            if (e.Key.StartsWith("item:", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref applied);
            }

            probe.Observe(e.Key);
        };
        reader.Cache.Events.Memory.Expire += (_, e) => probe.Observe(e.Key);
        if (!await ProbeFusionAsync(writer, reader, probe, TimeSpan.FromSeconds(20)))
        {
            throw new InvalidOperationException("FusionCache's backplane never delivered a message from the writer to the reader.");
        }

        for (var i = 0; i < Keys; i++)
        {
            var index = i;
            await reader.Cache.GetOrSetAsync<long>(Key(i), (_, _) => Task.FromResult(Volatile.Read(ref database[index])));
        }

        // The disconnect: the relay refuses reconnects from now on, and Redis kills every connection of the reader
        // (CLIENT KILL ID, found by its client name in CLIENT LIST).
        relay.Block();
        var outage = Stopwatch.StartNew();
        var killed = 0;
        foreach (var client in await server.ClientListAsync())
        {
            if (client.Name == "fusion-reader")
            {
                killed += (int)await server.ClientKillAsync(id: client.Id, clientType: null, endpoint: null, skipMe: true);
            }
        }

        // The relay's pairs close as Redis closes the killed connections; whatever is still open after 1 s is cut.
        for (var wait = 0; relay.Live > 0 && wait < 50; wait++)
        {
            await Task.Delay(20);
        }

        var leftOpen = relay.Live;
        relay.Cut();
        Volatile.Write(ref applied, 0);
        var published = await PublishDuringOutageAsync(outage, database, i => writer.Cache.RemoveAsync(Key(i), FusionNode.Notify));
        var appliedDuringCut = Volatile.Read(ref applied);
        var refused = relay.Refused;
        relay.Restore();

        // Settled: the reader is connected again and a removal the writer publishes now reaches it.
        var restored = Stopwatch.StartNew();
        var settled = await ProbeFusionAsync(writer, reader, probe, SettleCeiling);
        var settleMs = restored.Elapsed.TotalMilliseconds;

        async Task<int> CountStaleAsync()
        {
            var stale = 0;
            for (var i = 0; i < Keys; i++)
            {
                var index = i;
                var value = await reader.Cache.GetOrSetAsync<long>(Key(i), (_, _) => Task.FromResult(Volatile.Read(ref database[index])));
                if (value < Volatile.Read(ref database[i]))
                {
                    stale++;
                }
            }

            return stale;
        }

        var stale = await CountStaleAsync();
        await Task.Delay(SettleGrace);
        var staleLater = await CountStaleAsync();

        return new Outcome(
            "FusionCache 2.9 + Redis backplane (defaults: auto-recovery on)",
            $"relay refuses reconnects for 5 s; `CLIENT KILL ID` on the reader's {killed} Redis connection(s) (by client name){(leftOpen > 0 ? $"; {leftOpen} relayed connection(s) still open after the kill were closed by the relay" : "")}",
            published,
            appliedDuringCut,
            refused,
            settleMs,
            stale,
            staleLater,
            settled ? "" : $"the reader had not received a probe {SettleCeiling.TotalSeconds:F0} s after the restore");
    }

    private static async Task<bool> ProbeFusionAsync(FusionNode writer, FusionNode reader, Signal probe, TimeSpan ceiling)
    {
        var stopwatch = Stopwatch.StartNew();
        for (var attempt = 0; stopwatch.Elapsed < ceiling; attempt++)
        {
            await reader.Cache.SetAsync("probe", attempt);
            var observed = probe.Arm("probe");
            await writer.Cache.RemoveAsync("probe", FusionNode.Notify);
            if (await Task.WhenAny(observed, Task.Delay(TimeSpan.FromMilliseconds(50))) == observed)
            {
                return true;
            }
        }

        return false;
    }
}
