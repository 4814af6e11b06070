namespace Ladder.Jobs.Testing.Contract;

/// <summary>A queue copies its options when it opens: changing the object afterwards never skips validation.</summary>
public abstract class OptionsSnapshotContract : JobStoreContract
{
    [Test]
    [CancelAfter(30_000)]
    public async Task Options_ChangedAfterOpen_ChangeNothingInTheQueueOrItsProcessor(CancellationToken ct)
    {
        var options = Options(o => o.Queues["default"] = 2);
        await using var queue = await OpenAsync(options);

        options.Queues["default"] = -1;
        options.Queues["late"] = 3;
        options.LeaseDuration = TimeSpan.Zero;
        options.Prefetch = -5;

        queue.Options.Queues.Should().Equal(new Dictionary<string, int> { ["default"] = 2 });
        queue.Options.LeaseDuration.Should().Be(TimeSpan.FromSeconds(30));
        queue.Options.Queues["default"] = -7; // The copy handed out is the caller's: the queue keeps its own.
        queue.Options.Queues["default"].Should().Be(2);

        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((_, _, _) => Task.CompletedTask));
        using var reports = new Reports(processor);
        await processor.StartAsync(ct);
        var id = (await queue.EnqueueAsync(new Echo(1), cancellationToken: ct)).JobId;

        await reports.UntilAsync(id, JobOutcome.Succeeded, ct);
        (await queue.GetJobAsync(id, ct))!.Summary.Rescues.Should().Be(0);
    }
}
