namespace Ladder.Jobs.Testing.Contract;

/// <summary>Listing jobs with a <see cref="JobQuery"/>: one state, filters by queue, kind and unique-key prefix, keyset pages by ascending id.</summary>
public abstract class JobQueryContract : JobStoreContract
{
    [Test]
    [CancelAfter(60_000)]
    public async Task GetJobs_WithEachFilter_ListsOnlyTheMatchingJobsOfTheState(CancellationToken ct)
    {
        await using var queue = await OpenAsync();
        var a1 = await Enqueue(queue, new Echo(1), "a", "order-1");
        var a2 = await Enqueue(queue, new Other("x"), "a", "order-2");
        var b1 = await Enqueue(queue, new Echo(3), "b", "invoice-1");
        var b2 = await Enqueue(queue, new Echo(4), "b", null);
        await queue.EnqueueAsync(new Echo(5), new JobOptions { Queue = "a", UniqueKey = "order-3", Delay = TimeSpan.FromHours(1) }, ct);

        (await Ids(queue, new JobQuery(JobState.Ready), ct)).Should().Equal(a1, a2, b1, b2);
        (await Ids(queue, new JobQuery(JobState.Ready, Queue: "a"), ct)).Should().Equal(a1, a2);
        (await Ids(queue, new JobQuery(JobState.Ready, Kind: "echo"), ct)).Should().Equal(a1, b1, b2);
        (await Ids(queue, new JobQuery(JobState.Ready, UniqueKey: "order-"), ct)).Should().Equal(a1, a2);
        (await Ids(queue, new JobQuery(JobState.Ready, Queue: "a", Kind: "echo", UniqueKey: "order"), ct)).Should().Equal(a1);
        (await Ids(queue, new JobQuery(JobState.Ready, UniqueKey: "order-1"), ct)).Should().Equal(a1);
        (await Ids(queue, new JobQuery(JobState.Scheduled, UniqueKey: "order-"), ct)).Should().HaveCount(1, "the state is always a filter");
        (await Ids(queue, new JobQuery(JobState.Ready, Queue: "c"), ct)).Should().BeEmpty();
        (await Ids(queue, new JobQuery(JobState.Ready, Kind: "ECHO"), ct)).Should().BeEmpty("kinds match exactly");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task GetJobs_ByUniqueKeyPrefix_MatchesTheTextLiterally_CaseSensitive(CancellationToken ct)
    {
        // Characters a pattern language would read as wildcards or escapes are plain text in a prefix.
        await using var queue = await OpenAsync();
        var underscore = await Enqueue(queue, new Echo(1), "default", "a_1");
        await Enqueue(queue, new Echo(2), "default", "ab1");
        var percent = await Enqueue(queue, new Echo(3), "default", "a%1");
        await Enqueue(queue, new Echo(4), "default", "A_1");
        var backslash = await Enqueue(queue, new Echo(5), "default", @"a\1");
        var accented = await Enqueue(queue, new Echo(6), "default", "é-1");

        (await Ids(queue, new JobQuery(JobState.Ready, UniqueKey: "a_"), ct)).Should().Equal(underscore);
        (await Ids(queue, new JobQuery(JobState.Ready, UniqueKey: "a%"), ct)).Should().Equal(percent);
        (await Ids(queue, new JobQuery(JobState.Ready, UniqueKey: @"a\"), ct)).Should().Equal(backslash);
        (await Ids(queue, new JobQuery(JobState.Ready, UniqueKey: "é"), ct)).Should().Equal(accented);
        (await Ids(queue, new JobQuery(JobState.Ready, UniqueKey: "a"), ct)).Should().HaveCount(4, "A_1 differs in case");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task GetJobs_PagesByAscendingId_AndTheLastFullPageHasNoNext(CancellationToken ct)
    {
        await using var queue = await OpenAsync();
        var ids = (await queue.EnqueueBatchAsync([.. Enumerable.Range(0, 12).Select(i => JobRequest.For(new Echo(i), new JobOptions { UniqueKey = $"k{i}" }))], ct)).Select(r => r.JobId).ToList();

        var first = await queue.GetJobsAsync(new JobQuery(JobState.Ready, Kind: "echo", PageSize: 6), ct);
        var second = await queue.GetJobsAsync(new JobQuery(JobState.Ready, Kind: "echo", AfterId: first.NextAfterId, PageSize: 6), ct);
        var single = await queue.GetJobsAsync(new JobQuery(JobState.Ready, AfterId: ids[3], PageSize: 1), ct);
        var past = await queue.GetJobsAsync(new JobQuery(JobState.Ready, AfterId: ids[^1]), ct);

        first.Jobs.Select(j => j.Id).Should().Equal(ids.Take(6));
        first.NextAfterId.Should().Be(ids[5]);
        second.Jobs.Select(j => j.Id).Should().Equal(ids.Skip(6));
        second.NextAfterId.Should().BeNull("the page holds the last job: nothing follows");
        single.Jobs.Should().ContainSingle().Which.Id.Should().Be(ids[4]);
        single.NextAfterId.Should().Be(ids[4]);
        past.Jobs.Should().BeEmpty();
        past.NextAfterId.Should().BeNull();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task GetJobs_ListsSummariesAsStored(CancellationToken ct)
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var queue = await OpenAsync(time: time);
        var id = (await queue.EnqueueAsync(new Echo(1), new JobOptions { Queue = "q", Priority = 4, MaxAttempts = 3, UniqueKey = "u-1" }, ct)).JobId;

        var job = (await queue.GetJobsAsync(new JobQuery(JobState.Ready, Queue: "q"), ct)).Jobs.Single();

        job.Should().BeEquivalentTo(new
        {
            Id = id, Queue = "q", Kind = "echo", State = JobState.Ready, Priority = 4, Attempts = 0, MaxAttempts = 3, Rescues = 0, UniqueKey = "u-1",
            CreatedAt = time.GetUtcNow(), RunAt = time.GetUtcNow(), StartedAt = (DateTimeOffset?)null, FinishedAt = (DateTimeOffset?)null, LastError = (string?)null,
        });
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task GetJobs_WithAnEmptyFilterOrAPageSizeOutOfRange_IsRefused(CancellationToken ct)
    {
        await using var queue = await OpenAsync();

        await FluentActions.Awaiting(() => queue.GetJobsAsync(new JobQuery(JobState.Ready, PageSize: 0), ct)).Should().ThrowAsync<ArgumentOutOfRangeException>();
        await FluentActions.Awaiting(() => queue.GetJobsAsync(new JobQuery(JobState.Ready, PageSize: 1001), ct)).Should().ThrowAsync<ArgumentOutOfRangeException>();
        await FluentActions.Awaiting(() => queue.GetJobsAsync(new JobQuery(JobState.Ready, Queue: ""), ct)).Should().ThrowAsync<ArgumentException>();
        await FluentActions.Awaiting(() => queue.GetJobsAsync(new JobQuery(JobState.Ready, Kind: ""), ct)).Should().ThrowAsync<ArgumentException>();
        await FluentActions.Awaiting(() => queue.GetJobsAsync(new JobQuery(JobState.Ready, UniqueKey: ""), ct)).Should().ThrowAsync<ArgumentException>();
    }

    private static async Task<long> Enqueue<T>(JobQueue queue, T args, string name, string? uniqueKey) =>
        (await queue.EnqueueAsync(args, new JobOptions { Queue = name, UniqueKey = uniqueKey })).JobId;

    private static async Task<List<long>> Ids(JobQueue queue, JobQuery query, CancellationToken ct) =>
        [.. (await queue.GetJobsAsync(query, ct)).Jobs.Select(j => j.Id)];
}
