using System.Diagnostics;
using Ladder.Caching.PostgreSql.Benchmarks.Infrastructure;
using Ladder.Caching.PostgreSql.Benchmarks.Peers;
using Ladder.PostgreSql.Testing;
using Npgsql;

namespace Ladder.Caching.PostgreSql.Benchmarks;

/// <summary>Part (c), Ladder: the reader node reaches PostgreSQL through a relay; the writer connects directly.</summary>
internal static partial class Disconnect
{
    private static async Task<Outcome> LadderAsync(PostgresServer postgres)
    {
        var connectionString = await postgres.CreateDatabaseAsync("disconnect");
        var database = new long[Keys];
        long Load(string key) => Volatile.Read(ref database[int.Parse(key.AsSpan("item:".Length), System.Globalization.CultureInfo.InvariantCulture)]);

        await using var relay = new LoopbackRelay(postgres.Port);
        await using var writer = await LadderNode.StartAsync("ladder-writer", connectionString, key => key == "probe" ? 0 : Load(key));
        var viaRelay = new NpgsqlConnectionStringBuilder(connectionString) { Port = relay.Port }.ConnectionString;
        await using var reader = await LadderNode.StartAsync("ladder-reader", viaRelay, key => key == "probe" ? 0 : Load(key));

        var applied = 0;
        var probe = new Signal();
        reader.Applied = changes =>
        {
            foreach (var change in changes)
            {
                if (change.Key != "probe")
                {
                    Interlocked.Increment(ref applied);
                }

                probe.Observe(change.Key);
            }
        };
        if (!await ProbeLadderAsync(writer, probe, TimeSpan.FromSeconds(20)))
        {
            throw new InvalidOperationException("The PostgreSQL backplane never delivered a change from the writer to the reader.");
        }

        for (var i = 0; i < Keys; i++)
        {
            await reader.Items.GetAsync(Key(i));
        }

        // The disconnect: the relay refuses reconnects from now on, and PostgreSQL terminates every backend of the
        // reader (its listener and its pooled connections, by application_name).
        relay.Block();
        var outage = Stopwatch.StartNew();
        var killedListener = await postgres.TerminateBackendsAsync(reader.ListenerApplicationName);
        var killedPool = await postgres.TerminateBackendsAsync(reader.ApplicationName);
        for (var wait = 0; relay.Live > 0 && wait < 50; wait++)
        {
            await Task.Delay(20);
        }

        var leftOpen = relay.Live;
        relay.Cut();
        Volatile.Write(ref applied, 0);
        var published = await PublishDuringOutageAsync(outage, database, i =>
        {
            writer.Publish(Key(i));
            return ValueTask.CompletedTask;
        });
        var appliedDuringCut = Volatile.Read(ref applied);
        var refused = relay.Refused;
        var positionBefore = reader.Backplane.Position;
        relay.Restore();

        var restored = Stopwatch.StartNew();
        var settled = await ProbeLadderAsync(writer, probe, SettleCeiling);
        var settleMs = restored.Elapsed.TotalMilliseconds;

        async Task<int> CountStaleAsync()
        {
            var stale = 0;
            for (var i = 0; i < Keys; i++)
            {
                if (await reader.Items.GetAsync(Key(i)) < Volatile.Read(ref database[i]))
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
            "Ladder.Caching.PostgreSql (defaults)",
            $"relay refuses reconnects for 5 s; `pg_terminate_backend` (`PostgresServer.TerminateBackendsAsync`) by application_name on the reader's backends: {killedListener} listener, {killedPool} pooled{(leftOpen > 0 ? $"; {leftOpen} relayed connection(s) still open after it were closed by the relay" : "")}",
            published,
            appliedDuringCut,
            refused,
            settleMs,
            stale,
            staleLater,
            (settled ? "" : $"the reader had not received a probe {SettleCeiling.TotalSeconds:F0} s after the restore; ")
                + $"reader position {positionBefore} before the restore, {reader.Backplane.Position} after; the 100 changes applied after the restore: {Volatile.Read(ref applied)}");
    }

    private static async Task<bool> ProbeLadderAsync(LadderNode writer, Signal probe, TimeSpan ceiling)
    {
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < ceiling)
        {
            var observed = probe.Arm("probe");
            writer.Publish("probe");
            if (await Task.WhenAny(observed, Task.Delay(TimeSpan.FromMilliseconds(50))) == observed)
            {
                return true;
            }
        }

        return false;
    }
}
