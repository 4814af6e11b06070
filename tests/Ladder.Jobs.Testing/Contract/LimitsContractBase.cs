using Microsoft.Extensions.Time.Testing;

namespace Ladder.Jobs.Testing.Contract;

/// <summary>The helpers of the limits fixtures: stores reached through queues of the suite, on a fake clock.</summary>
public abstract class LimitsContractBase : JobStoreContract
{
    /// <summary>The test's clock (the queues' and their stores').</summary>
    protected FakeTimeProvider Time { get; private set; } = null!;

    /// <summary>Makes the clock.</summary>
    [SetUp]
    public void CreateClock() => Time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    /// <summary>A new store, opened by a queue of the suite (which runs no processor).</summary>
    /// <returns>The store.</returns>
    protected async Task<JobStore> OpenStoreAsync() => (await OpenAsync(time: Time)).Store;

    /// <summary>Another store on the location of <paramref name="store"/>: another host.</summary>
    /// <param name="store">A store from <see cref="OpenStoreAsync"/>.</param>
    /// <returns>The store.</returns>
    protected async Task<JobStore> OpenSiblingStoreAsync(JobStore store)
    {
        var sibling = await JobQueue.OpenAsync(await Factory.CreateSiblingAsync(store, Time), Options(), Time);
        _siblings.Add(sibling);
        return sibling.Store;
    }

    private readonly List<JobQueue> _siblings = [];

    /// <summary>Disposes the sibling queues.</summary>
    /// <returns>A task that completes once they are disposed.</returns>
    [TearDown]
    public async Task DisposeSiblingsAsync()
    {
        foreach (var sibling in _siblings)
        {
            await sibling.DisposeAsync();
        }

        _siblings.Clear();
    }

    /// <summary>A job of kind "echo", with a concurrency key and limit if given.</summary>
    /// <param name="key">Its key, or none.</param>
    /// <param name="limit">Its key's limit (at least 1 with a key).</param>
    /// <param name="queue">Its queue.</param>
    /// <param name="priority">Its priority.</param>
    /// <returns>The job.</returns>
    protected static NewJob Job(string? key = null, int limit = 0, string queue = "default", int priority = 0) =>
        new(queue, "echo", "{}", priority, null, TimeSpan.Zero, 5, null, null, null, key, key is null ? 0 : Math.Max(1, limit));

    /// <summary>Claims with a one-minute lease.</summary>
    /// <param name="store">The store.</param>
    /// <param name="limit">How many at most.</param>
    /// <param name="startNow">How many start at once (default: all).</param>
    /// <param name="queue">The queue.</param>
    /// <returns>The claim.</returns>
    protected static Task<ClaimBatch> ClaimAsync(JobStore store, int limit, int? startNow = null, string queue = "default") =>
        store.ClaimAsync(new ClaimRequest(queue, limit, startNow ?? limit, TimeSpan.FromMinutes(1)), null);

    /// <summary>Enqueues jobs; returns their ids.</summary>
    /// <param name="store">The store.</param>
    /// <param name="jobs">The jobs.</param>
    /// <returns>Their ids, in order.</returns>
    protected static async Task<long[]> EnqueueAsync(JobStore store, params NewJob[] jobs) =>
        [.. (await store.EnqueueAsync(jobs, CancellationToken.None)).Select(r => r.JobId)];
}
