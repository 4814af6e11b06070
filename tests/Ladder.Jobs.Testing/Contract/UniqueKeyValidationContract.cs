namespace Ladder.Jobs.Testing.Contract;

/// <summary>An empty unique key would de-duplicate every job of its kind: refused like an empty queue name.</summary>
public abstract class UniqueKeyValidationContract : JobStoreContract
{
    [TestCase("")]
    [TestCase("   ")]
    [CancelAfter(30_000)]
    public async Task Enqueue_WithAnEmptyUniqueKey_IsRefusedAndEnqueuesNothing(string key, CancellationToken ct)
    {
        await using var queue = await OpenAsync();

        var enqueue = () => queue.EnqueueAsync(new Echo(1), new JobOptions { UniqueKey = key }, ct);

        (await enqueue.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("UniqueKey");
        (await queue.GetCountsAsync(ct)).Should().BeEmpty();
    }
}
