using System.Globalization;

namespace Ladder.Jobs.Limits;

/// <summary>
/// Issue #14's multi-process test, on every store: three processes (Ladder.Jobs.LimitNode) on one store run 1,000 jobs
/// over 10 concurrency keys with a limit of 2 (never more than 2 running per key, by the nodes' own start/end records,
/// and the total time near the ideal), and a queue rate limit of 50 starts per second holds.
/// </summary>
public abstract class MultiProcessLimits
{
    private const int Nodes = 3;
    private const int Concurrency = 8;
    private const int WorkMs = 20;

    protected string Folder { get; private set; } = "";

    /// <summary>The node arguments that name the store.</summary>
    protected abstract IReadOnlyList<string> StoreArguments { get; }

    /// <summary>The test's own queue on the store (it runs no processor).</summary>
    protected abstract Task<JobQueue> OpenQueueAsync();

    [SetUp]
    public void CreateFolder()
    {
        Folder = Path.Combine(Path.GetTempPath(), "ladder-limits-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
    }

    [TearDown]
    public void DeleteFolder()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // The OS temp cleanup gets it.
        }
    }

    [Test]
    [CancelAfter(300_000)]
    public Task ThreeProcesses_ThousandJobsOverTenKeys_NeverRunMoreThanTwoPerKey(CancellationToken ct) => KeysAsync(1_000, ct);

    [Test]
    [Category("Soak")]
    [CancelAfter(1_800_000)]
    public Task Soak_ThreeProcesses_ManyJobsOverTenKeys_NeverRunMoreThanTwoPerKey(CancellationToken ct) => KeysAsync(LimitRun.Scale(5_000, 50_000), ct);

    [Test]
    [CancelAfter(300_000)]
    public Task ThreeProcesses_ARateLimitOf50PerSecond_Holds(CancellationToken ct) => RateAsync(150, ct);

    [Test]
    [Category("Soak")]
    [CancelAfter(1_800_000)]
    public Task Soak_ThreeProcesses_ARateLimitOf50PerSecond_Holds(CancellationToken ct) => RateAsync(LimitRun.Scale(500, 3_000), ct);

    private async Task KeysAsync(int count, CancellationToken ct)
    {
        const int Keys = 10, Limit = 2;
        await using var queue = await OpenQueueAsync();
        var keyOf = new Dictionary<int, string>();
        var jobs = Enumerable.Range(0, count).Select(i =>
            new JobRequest("limit-job", $"{{\"number\":{i}}}", new JobOptions { ConcurrencyKey = $"player:{i % Keys}", ConcurrencyLimit = Limit })).ToList();

        var result = await LimitRun.RunAsync(queue, StoreArguments, Folder, Nodes, jobs, Concurrency, WorkMs, ct);

        result.Runs.Should().HaveCount(count, "every job ran once (no failure, no rescue)");
        var byKey = new Dictionary<string, List<LimitRun.Run>>();
        foreach (var run in result.Runs)
        {
            var key = (await queue.GetJobAsync(run.JobId, ct))!.PayloadJson;
            var n = int.Parse(key.AsSpan(10, key.Length - 11), CultureInfo.InvariantCulture);
            (byKey.TryGetValue($"player:{n % Keys}", out var list) ? list : byKey[$"player:{n % Keys}"] = []).Add(run);
        }

        var overlaps = byKey.ToDictionary(e => e.Key, e => LimitRun.MaxOverlap(e.Value));
        var ideal = TimeSpan.FromMilliseconds((double)count / (Keys * Limit) * WorkMs);
        var hosts = result.Runs.GroupBy(r => r.Host).ToDictionary(g => g.Key, g => g.Count());
        TestContext.Out.WriteLine(
            $"{count} jobs, {Keys} keys x {Limit}, {Nodes} processes x {Concurrency} slots, {WorkMs} ms each: {result.Elapsed.TotalSeconds:F2} s, ideal {ideal.TotalSeconds:F2} s " +
            $"(ratio {result.Elapsed / ideal:F2}); most running per key {overlaps.Values.Max()}; runs per host {string.Join(", ", hosts.Select(h => $"{h.Key} {h.Value}"))}; " +
            $"load {File.ReadAllText("/proc/loadavg").Trim()}");

        byKey.Should().HaveCount(Keys);
        overlaps.Should().OnlyContain(e => e.Value <= Limit, "at most 2 jobs of a key run at once, across the three processes");
        overlaps.Values.Max().Should().Be(Limit, "the limit is used, not undershot");
        // Several processes shared the keys (the limit held across processes, not inside one). Not all three need to:
        // keyed jobs are claimed ahead into their key's free slots, so on a quiet machine two processes can hold all
        // twenty slots and refill them at each completion before the third's poll comes (seen: n1 200, n2 800).
        hosts.Should().HaveCountGreaterThan(1, "the keys' jobs ran in more than one process");

        // Close to the ideal (the keys' slots always busy), with room for this shared, busy machine: process wake-ups
        // between hosts go through the poll (SQLite) or a debounced NOTIFY (PostgreSQL).
        result.Elapsed.Should().BeLessThan(ideal * 8 + TimeSpan.FromSeconds(10));
    }

    private async Task RateAsync(int count, CancellationToken ct)
    {
        const int PerSecond = 50;
        await using var queue = await OpenQueueAsync();
        await queue.SetRateLimitAsync(new JobRateLimit(RateLimitScope.Queue, "rated", PerSecond, TimeSpan.FromSeconds(1)), ct);
        var jobs = Enumerable.Range(0, count).Select(i => new JobRequest("limit-job", $"{{\"number\":{i}}}", new JobOptions { Queue = "rated" })).ToList();

        var result = await LimitRun.RunAsync(queue, StoreArguments, Folder, Nodes, jobs, Concurrency, WorkMs, ct);

        result.Runs.Should().HaveCount(count);
        var claimed = new List<long>();
        foreach (var run in result.Runs)
        {
            claimed.Add((await queue.GetJobAsync(run.JobId, ct))!.Summary.StartedAt!.Value.ToUnixTimeMilliseconds() * 1_000_000);
        }

        const long Second = 1_000_000_000;
        var byStore = LimitRun.MaxInWindow(claimed, Second);
        var byHandlers = LimitRun.MaxInWindow(result.Runs.Select(r => r.StartNs), Second);
        var span = (result.Runs.Max(r => r.StartNs) - result.Runs.Min(r => r.StartNs)) / (double)Second;
        var rate = (count - PerSecond) / span;
        TestContext.Out.WriteLine(
            $"{count} jobs at {PerSecond}/s over {Nodes} processes: most claims in any 1 s window (store times) {byStore}, most handler starts in any 1 s " +
            $"window (node clocks) {byHandlers}; starts after the first window at {rate:F1}/s; {result.Elapsed.TotalSeconds:F2} s; load {File.ReadAllText("/proc/loadavg").Trim()}");

        byStore.Should().BeLessThanOrEqualTo(PerSecond, "the store admits at most 50 claims in any window of its clock");
        byStore.Should().Be(PerSecond, "the limit is used, not undershot");

        // The guarantee is on claims (a claim is the start, by the store's clock). A handler starts a little after its
        // claim commits, later on a busy machine, so the handlers' own start times may bunch the claims of two windows:
        // measured here up to 74 in a second at load 0.7 and at load 30+ (docs/jobs/concurrency.md); the bound is two windows' worth.
        byHandlers.Should().BeLessThanOrEqualTo(2 * PerSecond);
        rate.Should().BeLessThanOrEqualTo(PerSecond * 1.1, "past the first window, starts keep to the rate");
    }
}
