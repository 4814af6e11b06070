using Microsoft.Extensions.Time.Testing;

namespace Ladder.Jobs.Testing.Contract;

/// <summary>
/// The processor's rescue loop keeps its schedule (issue #10: any host rescues an expired lease within one lease + one
/// rescue interval): a rescue every <see cref="LadderJobsOptions.RescueInterval"/> from the first, however long each takes.
/// </summary>
public abstract class RescueScheduleContract : JobStoreContract
{
    [Test]
    [CancelAfter(30_000)]
    public async Task Rescues_KeepTheirSchedule_WhenARescueTakesTime(CancellationToken ct)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var queue = await OpenAsync(o =>
        {
            o.RescueInterval = TimeSpan.FromSeconds(10);
            o.MaintenanceInterval = TimeSpan.FromHours(1);
        }, time);
        await using var processor = new JobProcessor(queue, new JobHandlerRegistry().Add<Echo>((_, _, _) => Task.CompletedTask));
        var began = time.GetTimestamp();
        var rescues = RescueRecorder.Record(processor, time, began, 3, n =>
        {
            if (n == 1)
            {
                // The first rescue takes 4 s of the clock (a slow statement, a starved host).
                time.Advance(TimeSpan.FromSeconds(4));
            }
        });
        await processor.StartAsync(ct);

        (await rescues[0].Task.WaitAsync(ct)).Should().Be(TimeSpan.Zero, "the processor rescues as it starts");

        // 10 s after the first began: the second is due. Before, the loop waited a full interval after each rescue
        // ended, so it came at 14 s, and every rescue after it 4 s late too. The ceiling is real time: the second
        // rescue begins as soon as the clock reaches 10 s, or never on this clock.
        time.Advance(TimeSpan.FromSeconds(6));
        (await rescues[1].Task.WaitAsync(TimeSpan.FromSeconds(10), ct)).Should().Be(TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromSeconds(10));
        (await rescues[2].Task.WaitAsync(TimeSpan.FromSeconds(10), ct)).Should().Be(TimeSpan.FromSeconds(20));
    }
}
