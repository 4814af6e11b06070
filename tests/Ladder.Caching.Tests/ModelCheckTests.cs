using System.Globalization;
using Ladder.Caching.Tests.Support;

namespace Ladder.Caching.Tests;

/// <summary>
/// Randomized concurrent check of the guarantee. Writers commit to a model and then publish; readers note what had
/// been published when their read started and compare with what the cache returns. A value older than that is a
/// stale read; there must be none. Bounded here; the Soak category runs millions of operations.
/// </summary>
public sealed class ModelCheckTests
{
    [TestCase(RefreshMode.Lazy, false, false)]
    [TestCase(RefreshMode.Eager, false, false)]
    [TestCase(RefreshMode.Lazy, true, false)]
    [TestCase(RefreshMode.Lazy, false, true)]
    [CancelAfter(120_000)]
    public async Task RandomizedConcurrentReadsAndWrites_NeverReturnAStaleValue(RefreshMode mode, bool staleWhileRevalidate, bool evict, CancellationToken cancellationToken)
    {
        var report = await ModelCheck.RunAsync(reads: 20_000, mode, staleWhileRevalidate, evict, seed: 12345, cancellationToken);

        report.StaleReads.Should().Be(0);
        (report.FreshReads + report.FlaggedStaleReads).Should().Be(20_000);
        report.FlaggedStaleReads.Should().Be(staleWhileRevalidate ? report.FlaggedStaleReads : 0, "only stale-while-revalidate flags values");
        report.Writes.Should().BeGreaterThanOrEqualTo(100);
        report.Loads.Should().BeGreaterThanOrEqualTo(2);
    }

    [TestCase(RefreshMode.Lazy, false, false)]
    [TestCase(RefreshMode.Eager, false, false)]
    [TestCase(RefreshMode.Lazy, true, false)]
    [TestCase(RefreshMode.Lazy, false, true)]
    [Category("Soak")]
    [CancelAfter(900_000)]
    public async Task Soak_MillionsOfConcurrentOperations_NeverReturnAStaleValue(RefreshMode mode, bool staleWhileRevalidate, bool evict, CancellationToken cancellationToken)
    {
        // LADDER_SOAK_SCALE=ci (or unset): 20 million reads per case (200,000 with constant eviction), about two minutes in all; full: ten times more.
        var operations = Environment.GetEnvironmentVariable("LADDER_SOAK_SCALE") == "full" ? 200_000_000 : 20_000_000;

        // Under constant eviction nearly every read is a load (and a MemoryCache compaction): 100 times fewer reads.
        operations = evict ? operations / 100 : operations;

        var report = await ModelCheck.RunAsync(operations, mode, staleWhileRevalidate, evict, seed: Environment.TickCount, cancellationToken);

        TestContext.Out.WriteLine($"{operations:N0} reads, {report.Writes:N0} writes: {report.FreshReads:N0} fresh reads, {report.FlaggedStaleReads:N0} flagged stale, {report.Loads:N0} loads, 0 stale reads expected, got {report.StaleReads}");
        report.StaleReads.Should().Be(0);
    }

    private sealed record Report(long FreshReads, long FlaggedStaleReads, long StaleReads, long Loads, long Writes);

    private static class ModelCheck
    {
        private const int Players = 16;
        private const int Writers = 2;
        private const int Readers = 4;

        public static async Task<Report> RunAsync(int reads, RefreshMode mode, bool swr, bool evict, int seed, CancellationToken cancellationToken)
        {
            var committed = new long[Players];   // the database: one version per player
            var published = new long[Players];   // the newest version whose Publish has returned
            long loads = 0;
            long fresh = 0;
            long flagged = 0;
            long stale = 0;
            long sequence = 0;

            void Configure<TKey>(ViewBuilder<TKey, long[]> view)
                where TKey : notnull
            {
                view.Options.Refresh = mode;
                view.Options.RefreshDebounce = TimeSpan.FromMilliseconds(1);
                view.Options.StaleWhileRevalidate = swr ? TimeSpan.FromHours(1) : null;

                // A size limit far below the number of keys: entries are evicted all the time, so key counters are
                // killed and removed while loads stamp them and publishes bump them.
                view.Options.SizeLimit = evict ? 3 : null;
            }

            async ValueTask<long[]> LoadAll(CancellationToken ct)
            {
                Interlocked.Increment(ref loads);
                var snapshot = new long[Players];
                for (var i = 0; i < Players; i++)
                {
                    snapshot[i] = Volatile.Read(ref committed[i]);
                    if (i % 5 == 0)
                    {
                        await Task.Yield();   // let writers commit and publish in the middle of the load
                    }
                }

                return snapshot;
            }

            async ValueTask<long[]> LoadOne(int player, CancellationToken ct)
            {
                Interlocked.Increment(ref loads);
                await Task.Yield();
                return [Volatile.Read(ref committed[player])];
            }

            using var cache = new LadderCache(new LadderCachingOptions { LogUnknownChanges = false }
                .Entity("player", "mmr", "preferences")
                .View<string, long[]>("leaderboard", view =>
                {
                    view.DependsOn("player", "mmr").Load((_, ct) => LoadAll(ct));
                    Configure(view);
                })
                .View<int, long[]>("profile", view =>
                {
                    view.DependsOn("player", p => p.ToString(CultureInfo.InvariantCulture), "mmr").Load(LoadOne);
                    Configure(view);
                }));
            var leaderboard = cache.View<string, long[]>("leaderboard");
            var profile = cache.View<int, long[]>("profile");
            var remainingReads = (long)reads;
            var readersDone = 0;
            long writes = 0;

            async Task WriterAsync(int writer, Random random)
            {
                await Task.Yield();
                while (Volatile.Read(ref readersDone) < Readers && !cancellationToken.IsCancellationRequested)
                {
                    Interlocked.Increment(ref writes);

                    // Each writer owns its players, so a player's versions only grow.
                    var player = (random.Next(Players / Writers) * Writers) + writer;
                    if (random.Next(4) == 0)
                    {
                        cache.Publish(new Change("player", player.ToString(CultureInfo.InvariantCulture), "preferences"));
                        continue;
                    }

                    var version = Interlocked.Increment(ref sequence);
                    Volatile.Write(ref committed[player], version);                             // commit
                    cache.Publish(new Change("player", player.ToString(CultureInfo.InvariantCulture), "mmr")); // then publish
                    Volatile.Write(ref published[player], version);                             // Publish has returned
                    if (random.Next(4) == 0)
                    {
                        await Task.Yield();
                    }
                }
            }

            async Task ReaderAsync(Random random)
            {
                // Start once the writers run, so every run mixes reads with writes even on a loaded machine.
                while (Volatile.Read(ref writes) < 100 && !cancellationToken.IsCancellationRequested)
                {
                    await Task.Yield();
                }

                var floor = new long[Players];
                while (Interlocked.Decrement(ref remainingReads) >= 0 && !cancellationToken.IsCancellationRequested)
                {
                    for (var i = 0; i < Players; i++)
                    {
                        floor[i] = Volatile.Read(ref published[i]);   // the read starts after these publishes returned
                    }

                    if (random.Next(2) == 0)
                    {
                        var page = random.Next(3).ToString(CultureInfo.InvariantCulture);
                        var result = await leaderboard.GetResultAsync(page, cancellationToken);
                        Count(result, Enumerable.Range(0, Players).All(i => result.Value[i] >= floor[i]));
                    }
                    else
                    {
                        var player = random.Next(Players);
                        var result = random.Next(4) == 0 ? profile.GetResult(player) : await profile.GetResultAsync(player, cancellationToken);
                        Count(result, result.Value[0] >= floor[player]);
                    }
                }

                Interlocked.Increment(ref readersDone);
            }

            void Count(CacheResult<long[]> result, bool upToDate)
            {
                if (result.IsStale)
                {
                    Interlocked.Increment(ref flagged);
                }
                else if (upToDate)
                {
                    Interlocked.Increment(ref fresh);
                }
                else
                {
                    Interlocked.Increment(ref stale);
                }
            }

            var tasks = new List<Task>();
            for (var w = 0; w < Writers; w++)
            {
                var writer = w;
                tasks.Add(Task.Run(() => WriterAsync(writer, new Random(seed + writer)), cancellationToken));
            }

            for (var r = 0; r < Readers; r++)
            {
                var random = new Random(seed + 100 + r);
                tasks.Add(Task.Run(() => ReaderAsync(random), cancellationToken));
            }

            await Task.WhenAll(tasks);
            return new Report(fresh, flagged, stale, loads, writes);
        }
    }
}
