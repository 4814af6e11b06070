namespace Ladder.Jobs.Testing.Contract;

/// <summary>
/// A <see cref="JobRequest"/> is never stored as the payload of a typed job, whichever overload a call binds to, and
/// a job's options are given once: in the request or beside it.
/// </summary>
public abstract class EnqueueMisuseContract : JobStoreContract
{
    [Test]
    [CancelAfter(30_000)]
    public async Task Enqueue_ARequestWithOptionsBesideIt_EnqueuesTheRequestsJobWithThoseOptions(CancellationToken ct)
    {
        await using var queue = await OpenAsync();

        var result = await queue.EnqueueAsync(new JobRequest("echo", """{"n":1}"""), new JobOptions { Queue = "q", Priority = 2 }, ct);

        var job = (await queue.GetJobAsync(result.JobId, ct))!;
        job.Summary.Kind.Should().Be("echo");
        job.PayloadJson.Should().Be("""{"n":1}""");
        job.Summary.Queue.Should().Be("q");
        job.Summary.Priority.Should().Be(2);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Enqueue_ARequestThroughAGenericCaller_EnqueuesTheRequestsJobNotTheRequestAsJson(CancellationToken ct)
    {
        await using var queue = await OpenAsync();

        var result = await EnqueueAnything<object>(queue, new JobRequest("echo", """{"n":2}""", new JobOptions { Queue = "q" }));

        var job = (await queue.GetJobAsync(result.JobId, ct))!;
        job.Summary.Kind.Should().Be("echo");
        job.PayloadJson.Should().Be("""{"n":2}""");
        job.Summary.Queue.Should().Be("q");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Enqueue_ARequestAlone_BindsToTheRequestOverload(CancellationToken ct)
    {
        await using var queue = await OpenAsync();

        var result = await EnqueueWithoutToken(queue, new JobRequest("echo", """{"n":3}"""));

        (await queue.GetJobAsync(result.JobId, ct))!.Summary.Kind.Should().Be("echo");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Enqueue_ARequestWithOptionsInItAndBesideIt_IsRefusedAndEnqueuesNothing(CancellationToken ct)
    {
        await using var queue = await OpenAsync();
        var request = new JobRequest("echo", """{"n":4}""", new JobOptions { Queue = "a" });

        var enqueue = () => queue.EnqueueAsync(request, new JobOptions { Queue = "b" }, ct);

        (await enqueue.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("once");
        (await queue.GetCountsAsync(ct)).Should().BeEmpty();
    }

    // Compiles only while EnqueueAsync(request) is not ambiguous.
    private static Task<EnqueueResult> EnqueueWithoutToken(JobQueue queue, JobRequest request) => queue.EnqueueAsync(request);

    // A caller generic over what it enqueues: binds to the typed overload whatever it is given.
    private static Task<EnqueueResult> EnqueueAnything<T>(JobQueue queue, T item) => queue.EnqueueAsync(item);
}
