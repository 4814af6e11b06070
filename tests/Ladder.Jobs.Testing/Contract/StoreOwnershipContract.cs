namespace Ladder.Jobs.Testing.Contract;

/// <summary>
/// A store is opened by one queue, which owns it from then on and disposes it with itself; a store another queue
/// owns is refused and left as it was; options refused before opening leave the store untaken.
/// </summary>
public abstract class StoreOwnershipContract : JobStoreContract
{
    [Test]
    [CancelAfter(30_000)]
    public async Task OpenAsync_TakesTheStore_AndDisposingTheQueueDisposesIt(CancellationToken ct)
    {
        var store = await Factory.CreateAsync(TimeProvider.System);
        var queue = await JobQueue.OpenAsync(store, Options(), cancellationToken: ct);
        queue.Store.Should().BeSameAs(store);
        store.IsAvailable.Should().BeTrue();
        (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).Inserted.Should().BeTrue();

        await queue.DisposeAsync();

        store.IsAvailable.Should().BeFalse("the queue disposed its store");
        await FluentActions.Awaiting(() => store.DisposeAsync().AsTask()).Should().NotThrowAsync("disposing twice is harmless");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task OpenAsync_OfAStoreAnotherQueueOwns_IsRefusedAndLeavesItWorking(CancellationToken ct)
    {
        await using var queue = await OpenAsync();

        var second = () => JobQueue.OpenAsync(queue.Store, Options(), cancellationToken: ct);

        (await second.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("already belongs");
        queue.Store.IsAvailable.Should().BeTrue();
        var id = (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;
        (await queue.GetJobAsync(id, ct))!.Summary.State.Should().Be(JobState.Ready);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task OpenAsync_OfADisposedQueuesStore_IsRefused(CancellationToken ct)
    {
        var queue = await OpenAsync();
        await queue.DisposeAsync();

        var again = () => JobQueue.OpenAsync(queue.Store, Options(), cancellationToken: ct);

        await again.Should().ThrowAsync<InvalidOperationException>();
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task OpenAsync_WithInvalidOptions_RefusesThemBeforeTakingTheStore(CancellationToken ct)
    {
        var store = await Factory.CreateAsync(TimeProvider.System);

        var withPath = () => JobQueue.OpenAsync(store, Options(o => o.Path = "jobs.db"), cancellationToken: ct);
        var withTwoStores = () => JobQueue.OpenAsync(store, Options(o => o.UseStore(() => store)), cancellationToken: ct);
        var withZeroLease = () => JobQueue.OpenAsync(store, Options(o => o.LeaseDuration = TimeSpan.Zero), cancellationToken: ct);

        (await withPath.Should().ThrowAsync<LadderJobsOptionsException>()).Which.Message.Should().Contain("Path");
        (await withTwoStores.Should().ThrowAsync<LadderJobsOptionsException>()).Which.Message.Should().Contain("UseStore");
        (await withZeroLease.Should().ThrowAsync<LadderJobsOptionsException>()).Which.Message.Should().Contain("LeaseDuration");
        await using var queue = await JobQueue.OpenAsync(store, Options(), cancellationToken: ct);
        queue.Store.Should().BeSameAs(store, "the refused opens left the store untaken");
        (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).Inserted.Should().BeTrue();
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Open_WithUseStore_OwnsTheFactorysStoreAndDisposesIt(CancellationToken ct)
    {
        var store = await Factory.CreateAsync(TimeProvider.System);
        var made = 0;

        var queue = JobQueue.Open(Options(o => o.UseStore(() =>
        {
            Interlocked.Increment(ref made);
            return store;
        })));
        try
        {
            queue.Store.Should().BeSameAs(store);
            (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).Inserted.Should().BeTrue();
        }
        finally
        {
            await queue.DisposeAsync();
        }

        made.Should().Be(1);
        store.IsAvailable.Should().BeFalse("the queue disposed the store its factory made");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Open_WithAStoreFactoryReturningAStoreAnotherQueueOwns_IsRefused(CancellationToken ct)
    {
        await using var queue = await OpenAsync();

        var second = () => JobQueue.Open(Options(o => o.UseStore(() => queue.Store)));

        second.Should().Throw<InvalidOperationException>().Which.Message.Should().Contain("already belongs");
        (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).Inserted.Should().BeTrue("the owner still works");
    }
}
