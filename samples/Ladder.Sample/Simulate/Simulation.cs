using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Ladder.Sample.Api;
using Ladder.Sample.Domain;
using Ladder.Sample.Replays;

namespace Ladder.Sample.Simulate;

/// <summary>One simulated season: players, matches, uploads (some duplicated, corrupt or hanging), then the drain.</summary>
internal sealed class Simulation(SimulationSettings settings, TextWriter progress)
{
    private readonly SimulationPlan _plan = SimulationPlan.Create(settings);

    private static readonly string[] Countries = ["KR", "US", "DE", "SE", "PL", "FR", "CA", "CN", "UA", "GB", "NL", "ES", "BR", "FI", "NO", "TW"];

    private readonly ConcurrentDictionary<string, long> _uploads = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<double> _leaderboardMs = [];
    private int _uploaded;
    private int _duplicates;
    private int _corrupt;
    private int _hanging;
    private int _errors;

    public async Task<SimulationSummary> RunAsync(CancellationToken cancellationToken)
    {
        var https = settings.Urls.Select(static u => new HttpClient { BaseAddress = u, Timeout = TimeSpan.FromSeconds(60) }).ToList();
        try
        {
            var clients = https.Select(static h => new LadderClient(h)).ToList();
            for (var i = 0; i < clients.Count; i++)
            {
                try
                {
                    await clients[i].GetHealthAsync(cancellationToken);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    throw new HostUnreachableException(
                        $"No Ladder host answers at {settings.Urls[i]} ({e.Message}). Start one first, in another terminal:\n" +
                        "  dotnet run --project samples/Ladder.Sample\nor point --url at a running one.", e);
                }
            }

            try
            {
                return await PlaySeasonAsync(clients, cancellationToken);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                throw new HostUnreachableException($"A host ({string.Join(", ", settings.Urls)}) stopped answering ({e.Message}).", e);
            }
        }
        finally
        {
            foreach (var http in https)
            {
                http.Dispose();
            }
        }
    }

    private async Task<SimulationSummary> PlaySeasonAsync(List<LadderClient> clients, CancellationToken cancellationToken)
    {
        // Several hosts: match m is created and uploaded on host m, its leaderboard read on the next one; the drain is
        // watched on the first (the queue is shared).
        var client = clients[0];
        LadderClient On(int i) => clients[i % clients.Count];
        // Names only need to be unique on the host: the same seed played twice against one host plays the same
        // season with new players.
        var run = Random.Shared.Next().ToString("x8", CultureInfo.InvariantCulture);
        var random = new Random(settings.Seed);
        var workersBefore = await WorkerStatsAsync(clients, cancellationToken);
        var started = Stopwatch.GetTimestamp();

        var players = new List<Player>(settings.Players);
        for (var i = 0; i < settings.Players; i++)
        {
            players.Add(await On(i).CreatePlayerAsync($"sim-{run}-{i}", Countries[random.Next(Countries.Length)], cancellationToken));
        }

        var next = -1;
        var workers = Enumerable.Range(0, settings.Concurrency).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) is var m && m < settings.Matches)
            {
                try
                {
                    // One generator per match, from the seed and the match's number (whichever task plays it): the
                    // same seed plays the same pairs, races and winners.
                    await PlayAsync(On(m), On(m + 1), players, new Random(unchecked((settings.Seed * 40503) + (m * 1_000_003))), m, cancellationToken);
                }
                catch (Exception e) when (e is LadderApiException or HttpRequestException)
                {
                    Interlocked.Increment(ref _errors);
                    await progress.WriteLineAsync($"\nmatch {m}: {e.Message}");
                }

                DrawProgress("playing", Volatile.Read(ref _uploaded), settings.Matches);
            }
        }, cancellationToken)).ToList();
        await Task.WhenAll(workers);

        // Drain: wait until every distinct upload has reached a final state (or the wait runs out).
        var final = new Dictionary<string, ReplayStatus>(StringComparer.Ordinal);
        var deadline = Stopwatch.GetTimestamp() + (long)(settings.Wait.TotalSeconds * Stopwatch.Frequency);
        while (final.Count < _uploads.Count && Stopwatch.GetTimestamp() < deadline)
        {
            foreach (var hash in _uploads.Keys.Where(h => !final.ContainsKey(h)).ToList())
            {
                var status = await client.GetReplayStatusAsync(hash, cancellationToken);
                if (status.IsFinal)
                {
                    final[hash] = status;
                }
            }

            DrawProgress("processing", final.Count, _uploads.Count);
            if (final.Count < _uploads.Count)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
            }
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        await progress.WriteLineAsync();
        var freshness = clients.Count > 1 ? await MeasureFreshnessAsync(clients, players, run, cancellationToken) : [];
        var workersAfter = await WorkerStatsAsync(clients, cancellationToken);
        long Delta(string key) => workersAfter.GetValueOrDefault(key) - workersBefore.GetValueOrDefault(key);
        var latencies = _leaderboardMs.Order().ToArray();
        return new SimulationSummary(
            settings.Matches, _uploads.Count, _uploaded, _duplicates, _corrupt, _hanging, _errors, elapsed,
            final.Values.Count(s => s.MatchState == "completed" && s.JobState == "succeeded"),
            Percentile(latencies, 0.50), Percentile(latencies, 0.99), latencies.Length,
            final.Values.GroupBy(s => s.JobState).ToDictionary(g => g.Key, g => g.Count()),
            _uploads.Count - final.Count, Delta("timeouts"), Delta("crashes"), settings.Seed)
        {
            Hosts = clients.Count,
            FreshnessP50Ms = Percentile(freshness, 0.50),
            FreshnessP99Ms = Percentile(freshness, 0.99),
            FreshnessReads = freshness.Length,
        };
    }

    /// <summary>
    /// Cross-host freshness: a rename on host A (each host in turn), timed from the write's answer until every other
    /// host serves the new name in the player's profile (a cached view, invalidated through the backplane). Each
    /// other host is asked every few milliseconds; one figure per probe and other host.
    /// </summary>
    private async Task<double[]> MeasureFreshnessAsync(List<LadderClient> clients, List<Player> players, string run, CancellationToken ct)
    {
        var figures = new List<double>();
        for (var k = 0; k < settings.FreshnessProbes; k++)
        {
            var writer = k % clients.Count;
            var player = players[k % players.Count];

            // The others serve the profile first, so it is cached there and the figure measures an invalidation.
            for (var other = 0; other < clients.Count; other++)
            {
                _ = await clients[other].GetProfileAsync(player.Id, ct);
            }

            var name = $"sim-{run}-{k % players.Count}-r{k}";
            await clients[writer].UpdatePlayerAsync(player.Id, name, null, ct);
            var written = Stopwatch.GetTimestamp();
            var reads = Enumerable.Range(0, clients.Count).Where(i => i != writer).Select(async i =>
            {
                while ((await clients[i].GetProfileAsync(player.Id, ct)).Player.Name != name)
                {
                    if (Stopwatch.GetElapsedTime(written) > TimeSpan.FromSeconds(30))
                    {
                        return double.PositiveInfinity;
                    }

                    await Task.Delay(TimeSpan.FromMilliseconds(2), ct);
                }

                return Stopwatch.GetElapsedTime(written).TotalMilliseconds;
            });
            figures.AddRange(await Task.WhenAll(reads));
            DrawProgress("freshness", k + 1, settings.FreshnessProbes);
        }

        await progress.WriteLineAsync();
        return [.. figures.Order()];
    }

    // The pool figures of every host, summed (each host runs its own pool).
    private static async Task<Dictionary<string, long>> WorkerStatsAsync(List<LadderClient> clients, CancellationToken ct)
    {
        var total = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var client in clients)
        {
            foreach (var (key, value) in await client.GetWorkerStatsAsync(ct))
            {
                total[key] = total.GetValueOrDefault(key) + value;
            }
        }

        return total;
    }

    private async Task PlayAsync(LadderClient client, LadderClient reader, List<Player> players, Random random, int m, CancellationToken ct)
    {
        var a = players[random.Next(players.Count)];
        Player b;
        do
        {
            b = players[random.Next(players.Count)];
        }
        while (b.Id == a.Id);
        var (raceA, raceB) = (Races.All[random.Next(3)], Races.All[random.Next(3)]);
        var match = await client.CreateMatchAsync(a.Id, raceA, b.Id, raceB, ct);
        var spec = new ReplaySpec(match.Id, new ReplayPlayer(a.Id, a.Name, raceA), new ReplayPlayer(b.Id, b.Name, raceB), random.Next(2), Seed: m);
        byte[] replay;
        if (_plan.Hanging.Contains(m))
        {
            replay = ReplayGenerator.CreateHanging(spec);
            Interlocked.Increment(ref _hanging);
        }
        else if (_plan.Corrupt.Contains(m))
        {
            replay = ReplayGenerator.Corrupt(ReplayGenerator.Create(spec));
            Interlocked.Increment(ref _corrupt);
        }
        else
        {
            replay = ReplayGenerator.Create(spec);
        }

        var upload = await client.UploadReplayAsync(match.Id, replay, ct);
        _uploads.TryAdd(upload.Hash, upload.JobId);
        Interlocked.Increment(ref _uploaded);
        if (_plan.Duplicated.Contains(m))
        {
            var again = await client.UploadReplayAsync(match.Id, replay, ct);
            if (again.Duplicate && again.JobId == upload.JobId)
            {
                Interlocked.Increment(ref _duplicates);
            }
        }

        var started = Stopwatch.GetTimestamp();
        await reader.GetLeaderboardAsync(random.Next(4) == 0 ? raceA.ToName() : null, null, 1, ct);
        _leaderboardMs.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    private void DrawProgress(string phase, int done, int total)
    {
        const int Width = 30;
        var filled = total == 0 ? Width : (int)((long)done * Width / total);
        lock (progress)
        {
            progress.Write($"\r{phase,-10} [{new string('#', filled)}{new string('.', Width - filled)}] {done}/{total}   ");
            progress.Flush();
        }
    }

    private static double Percentile(double[] sorted, double p)
        => sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}

internal sealed record SimulationSummary(
    int Matches, int DistinctUploads, int Uploads, int DuplicatesDeduplicated, int Corrupt, int Hanging, int Errors,
    TimeSpan Elapsed, int MatchesRated, double LeaderboardP50Ms, double LeaderboardP99Ms, int LeaderboardReads,
    IReadOnlyDictionary<string, int> JobsByFinalState, int Unfinished, long Timeouts, long Crashes, int Seed)
{
    /// <summary>How many hosts the season was spread over.</summary>
    public int Hosts { get; init; } = 1;

    /// <summary>With several hosts: from a rename's answer on one host until another serves it (milliseconds).</summary>
    public double FreshnessP50Ms { get; init; } = double.NaN;

    public double FreshnessP99Ms { get; init; } = double.NaN;

    public int FreshnessReads { get; init; }

    public string Format()
    {
        var s = new StringBuilder();
        var i = CultureInfo.InvariantCulture;
        s.AppendLine(i, $"matches played      {Matches} ({Uploads} replays uploaded, {DuplicatesDeduplicated} duplicate uploads answered with the same job)");
        s.AppendLine(i, $"replays sent        {Corrupt} corrupt, {Hanging} hanging");
        s.AppendLine(i, $"matches rated       {MatchesRated} in {Elapsed.TotalSeconds:F1} s = {MatchesRated / Math.Max(Elapsed.TotalSeconds, 0.001):F1} matches/s");
        s.AppendLine(i, $"leaderboard         p50 {LeaderboardP50Ms:F1} ms, p99 {LeaderboardP99Ms:F1} ms over {LeaderboardReads} reads");
        if (Hosts > 1)
        {
            s.AppendLine(i, $"hosts               {Hosts} (players, uploads and reads spread over them; worker pool figures summed)");
            s.AppendLine(i, $"cross-host fresh    p50 {FreshnessP50Ms:F1} ms, p99 {FreshnessP99Ms:F1} ms over {FreshnessReads} reads (a rename on one host until each other host serves it)");
        }

        s.AppendLine(i, $"jobs by final state {string.Join(", ", JobsByFinalState.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value}"))}{(Unfinished > 0 ? $", unfinished {Unfinished}" : "")}");
        s.AppendLine(i, $"worker pool         {Timeouts} timeouts, {Crashes} crashes");
        if (Errors > 0)
        {
            s.AppendLine(i, $"HTTP errors         {Errors}");
        }

        s.AppendLine(i, $"seed                {Seed} (--seed {Seed} plays the same season again)");

        return s.ToString();
    }
}

/// <summary>
/// Which matches send a hanging, a corrupt or a twice-uploaded replay. A share is of the matches, rounded to whole
/// matches, and the seed picks which ones: 2 % of 200 is 4 corrupt replays in every run, where a coin toss per match
/// sent any number (0 included).
/// </summary>
internal sealed record SimulationPlan(IReadOnlySet<int> Hanging, IReadOnlySet<int> Corrupt, IReadOnlySet<int> Duplicated)
{
    public static SimulationPlan Create(SimulationSettings settings)
    {
        var random = new Random(settings.Seed);
        int Count(double share) => (int)Math.Round(share * settings.Matches, MidpointRounding.AwayFromZero);

        // Hanging and corrupt replays are different matches; any match may be uploaded twice.
        var order = Enumerable.Range(0, settings.Matches).ToArray();
        random.Shuffle(order);
        var hanging = Math.Min(Count(settings.Hanging), settings.Matches);
        var corrupt = Math.Min(Count(settings.Corrupt), settings.Matches - hanging);
        var again = Enumerable.Range(0, settings.Matches).ToArray();
        random.Shuffle(again);
        return new SimulationPlan(
            order[..hanging].ToHashSet(), order[hanging..(hanging + corrupt)].ToHashSet(), again[..Count(settings.Duplicates)].ToHashSet());
    }
}

/// <summary>The host cannot be reached, or stopped answering during the run.</summary>
internal sealed class HostUnreachableException(string message, Exception innerException) : Exception(message, innerException);
