using System.Reflection;
using Ladder.Jobs.Tests.Support;

namespace Ladder.Jobs.Tests.Hardening;

/// <summary>A queue copies its options when it opens: changing the object afterwards never skips validation.</summary>
public sealed class OptionsSnapshotTests : TempFolderTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task Options_ChangedAfterOpen_ChangeNothingInTheQueueOrItsProcessor(CancellationToken ct)
    {
        var options = TestOptions.For(Folder.File("jobs.db"), o => o.Queues["default"] = 2);
        await using var queue = JobQueue.Open(options);

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

    [Test]
    public void Options_Copy_CarriesEveryPublicProperty()
    {
        // Reflection, so a property added later without being copied fails here.
        var original = new LadderJobsOptions();
        foreach (var property in typeof(LadderJobsOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod?.IsPublic == true))
        {
            property.SetValue(original, Different(property.PropertyType, property.GetValue(original)));
        }

        original.Queues["copied"] = 7;

        var copy = original.Copy();

        foreach (var property in typeof(LadderJobsOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.PropertyType == typeof(IDictionary<string, int>))
            {
                ((IDictionary<string, int>)property.GetValue(copy)!).Should().Equal((IDictionary<string, int>)property.GetValue(original)!);
                property.GetValue(copy).Should().NotBeSameAs(property.GetValue(original));
            }
            else
            {
                property.GetValue(copy).Should().Be(property.GetValue(original), property.Name);
            }
        }
    }

    private static object Different(Type type, object? value) => value switch
    {
        string s => s + "-changed",
        bool b => !b,
        int i => i + 1,
        TimeSpan t => t + TimeSpan.FromMilliseconds(1),
        SynchronousMode m => m == SynchronousMode.Full ? SynchronousMode.Normal : SynchronousMode.Full,
        _ => throw new InvalidOperationException($"Add a changed value for {type}."),
    };
}
