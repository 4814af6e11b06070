namespace Ladder.Jobs.Testing.Contract;

/// <summary>Enqueueing: what is stored, unique keys per kind, concurrent duplicates, invalid options, a disposed queue.</summary>
public abstract class EnqueueContract : JobStoreContract
{
    [Test]
    [CancelAfter(60_000)]
    public async Task Enqueue_TypedArgs_StoresKindPayloadAndOptions(CancellationToken ct)
    {
        await using var queue = await OpenAsync();

        var result = await queue.EnqueueAsync(new Echo(7), new JobOptions { Queue = "q", Priority = 3, MaxAttempts = 2, Timeout = TimeSpan.FromSeconds(9) }, ct);

        result.Inserted.Should().BeTrue();
        var job = (await queue.GetJobAsync(result.JobId, ct))!;
        job.Summary.Kind.Should().Be("echo");
        job.Summary.Queue.Should().Be("q");
        job.Summary.Priority.Should().Be(3);
        job.Summary.MaxAttempts.Should().Be(2);
        job.Summary.State.Should().Be(JobState.Ready);
        job.Timeout.Should().Be(TimeSpan.FromSeconds(9));
        job.PayloadJson.Should().Be("""{"n":7}""");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Enqueue_SameUniqueKeyTwice_InsertsOnceAndReturnsTheExistingJob(CancellationToken ct)
    {
        await using var queue = await OpenAsync();

        var first = await queue.EnqueueAsync(new Echo(1), new JobOptions { UniqueKey = "replay-hash" }, ct);
        var second = await queue.EnqueueAsync(new Echo(2), new JobOptions { UniqueKey = "replay-hash" }, ct);
        var otherKind = await queue.EnqueueAsync(new Other("x"), new JobOptions { UniqueKey = "replay-hash" }, ct);

        first.Inserted.Should().BeTrue();
        second.Should().Be(new EnqueueResult(first.JobId, Inserted: false));
        otherKind.Inserted.Should().BeTrue("unique keys are per kind");
        (await queue.GetJobAsync(first.JobId, ct))!.PayloadJson.Should().Be("""{"n":1}""");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task EnqueueBatch_ManyConcurrentDuplicates_InsertsEachKeyExactlyOnce(CancellationToken ct)
    {
        await using var queue = await OpenAsync();
        using var gate = new SemaphoreSlim(0);
        var tasks = Enumerable.Range(0, 8).Select(async _ =>
        {
            await gate.WaitAsync(ct);
            return await queue.EnqueueBatchAsync([.. Enumerable.Range(0, 50).Select(i => JobRequest.For(new Echo(i), new JobOptions { UniqueKey = $"k{i}" }))], ct);
        }).ToList();
        gate.Release(8);

        var results = (await Task.WhenAll(tasks)).SelectMany(r => r).ToList();

        results.Count(r => r.Inserted).Should().Be(50);
        results.Select(r => r.JobId).Distinct().Should().HaveCount(50);
        (await queue.GetCountsAsync(ct)).Single().Count.Should().Be(50);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Enqueue_WithInvalidOptions_ThrowsAndEnqueuesNothing(CancellationToken ct)
    {
        await using var queue = await OpenAsync();

        var both = () => queue.EnqueueBatchAsync([JobRequest.For(new Echo(1)), JobRequest.For(new Echo(2), new JobOptions { RunAt = DateTimeOffset.UnixEpoch, Delay = TimeSpan.FromSeconds(1) })], ct);
        var attempts = () => queue.EnqueueAsync(new Echo(1), new JobOptions { MaxAttempts = 0 }, ct);

        await both.Should().ThrowAsync<ArgumentException>().WithMessage("*RunAt or Delay*");
        await attempts.Should().ThrowAsync<ArgumentException>().WithMessage("*MaxAttempts*");
        (await queue.GetCountsAsync(ct)).Should().BeEmpty();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Enqueue_AfterDispose_ThrowsObjectDisposed()
    {
        var queue = await OpenAsync();
        await queue.DisposeAsync();
        await queue.DisposeAsync();

        var enqueue = () => queue.EnqueueAsync(new Echo(1));

        await enqueue.Should().ThrowAsync<ObjectDisposedException>();
    }
}
