using Ladder.Jobs.Dashboard.Internal;
using Ladder.Jobs.Dashboard.Pages;
using Ladder.Jobs.Dashboard.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Ladder.Jobs.Dashboard.Tests;

/// <summary>The chart's samples: taken only when someone looks, at most one per poll interval, in a bounded ring.</summary>
[TestFixture]
public sealed class CountsHistoryTests
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(5);

    [Test]
    [CancelAfter(60_000)]
    public async Task Samples_AreTakenWhenRead_AtMostOnePerPollInterval_AndTheRingIsBounded(CancellationToken ct)
    {
        await using var subject = new Subject(capacity: 3);
        var (time, queue, history) = (subject.Time, subject.Queue, subject.History);

        history.Samples().Should().BeEmpty("nothing is sampled before someone looks");
        await queue.EnqueueAsync(new Echo("a"), new JobOptions { Queue = "idle" }, ct);
        var first = await history.ReadAsync(queue, ct);
        first.Totals[Array.IndexOf(Enum.GetValues<JobState>(), JobState.Ready)].Should().Be(1);

        // Within half an interval: the same reading (many viewers, one query); within an interval: no new sample.
        await queue.EnqueueAsync(new Echo("b"), new JobOptions { Queue = "idle" }, ct);
        time.Advance(TimeSpan.FromSeconds(2));
        (await history.ReadAsync(queue, ct)).Should().BeSameAs(first);
        time.Advance(TimeSpan.FromSeconds(1));
        var fresher = await history.ReadAsync(queue, ct);
        fresher.Should().NotBeSameAs(first);
        fresher.Counts.Should().ContainSingle().Which.Count.Should().Be(2);
        history.Samples().Should().HaveCount(1, "3 s after the first sample is less than a poll interval");

        for (var i = 0; i < 5; i++)
        {
            time.Advance(Poll);
            await history.ReadAsync(queue, ct);
        }

        var samples = history.Samples();
        samples.Should().HaveCount(3, "the ring keeps the newest 3");
        samples.Select(static s => s.At).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        samples[^1].At.Should().Be(time.GetUtcNow());
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ViewersArrivingTogether_ShareOneRead(CancellationToken ct)
    {
        await using var subject = new Subject(capacity: 10);
        var (time, queue, history) = (subject.Time, subject.Queue, subject.History);

        var readings = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => history.ReadAsync(queue, ct)));

        readings.Distinct().Should().ContainSingle("twenty viewers at once cost one count query");
        history.Samples().Should().ContainSingle();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ASlowRead_IsReusedForNineTimesAsLongAsItTook_SoCountingNeverTakesMoreThanATenthOfTheTime(CancellationToken ct)
    {
        await using var subject = new Subject(capacity: 10);
        var (time, queue, history) = (subject.Time, subject.Queue, subject.History);
        await queue.EnqueueAsync(new Echo("a"), cancellationToken: ct);

        // The read takes 3 s by the clock it is timed with: every reading of the clock moves it on by 3 s.
        time.AutoAdvanceAmount = TimeSpan.FromSeconds(3);
        var slow = await history.ReadAsync(queue, ct);
        time.AutoAdvanceAmount = TimeSpan.Zero;
        slow.Took.Should().BeGreaterThan(Poll / 2, "the fake clock moved on while it counted");
        slow.ReusedFor.Should().Be(slow.Took * CountsHistory.ReuseFactor);

        // Past half a poll interval, and past a whole one, the slow reading still serves.
        time.SetUtcNow(slow.At + slow.ReusedFor - TimeSpan.FromMilliseconds(1));
        (await history.ReadAsync(queue, ct)).Should().BeSameAs(slow);

        time.Advance(TimeSpan.FromMilliseconds(1));
        var next = await history.ReadAsync(queue, ct);
        next.Should().NotBeSameAs(slow);
        next.Took.Should().Be(TimeSpan.Zero);
        next.ReusedFor.Should().Be(Poll / 2, "a quick read is reused for half a poll interval, as before");
        history.Samples().Should().HaveCount(2, "each reading a poll interval apart is a sample");
    }

    [Test]
    public void TheOverview_SaysWhenASlowCountWasRead_AndHowOftenItIsReadAgain()
    {
        var app = new DashboardApp(new LadderJobsDashboardOptions { ReadOnly = true }, "/jobs", new ServiceCollection().BuildServiceProvider());
        var at = new DateTimeOffset(2026, 12, 1, 12, 0, 3, TimeSpan.Zero);
        var totals = new long[CountsHistory.AllStates.Count];

        string Render(TimeSpan took, TimeSpan reusedFor)
        {
            var html = new Html();
            OverviewPage.Render(html, app, new DefaultHttpContext(), new CountsHistory.Reading(at, [], totals, took, reusedFor), []);
            return html.ToString();
        }

        Render(TimeSpan.FromMilliseconds(1070), TimeSpan.FromMilliseconds(9630)).Should()
            .Contain("Counted at 2026-12-01 12:00:03Z in 1.1 s; with this many jobs the counts are read again at most every 9.6 s.");
        Render(TimeSpan.FromMilliseconds(3), Poll / 2).Should().NotContain("Counted at", "a quick count is read at every poll");
    }

    /// <summary>A history over a queue on a fresh SQLite file, both on one fake clock.</summary>
    private sealed class Subject : IAsyncDisposable
    {
        private readonly TempFolder _folder = new();

        public Subject(int capacity)
        {
            Time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));
            Queue = JobQueue.Open(new LadderJobsOptions { Path = _folder.File("jobs.db") }, Time);
            History = new CountsHistory(capacity, Poll, Time);
        }

        public FakeTimeProvider Time { get; }

        public JobQueue Queue { get; }

        public CountsHistory History { get; }

        public async ValueTask DisposeAsync()
        {
            await Queue.DisposeAsync();
            _folder.Dispose();
        }
    }
}
