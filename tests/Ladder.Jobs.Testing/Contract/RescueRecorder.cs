using Microsoft.Extensions.Time.Testing;

namespace Ladder.Jobs.Testing.Contract;

/// <summary>Records when a processor's rescues begin, on a fake clock (the rescue and upkeep schedule contracts).</summary>
internal static class RescueRecorder
{
    /// <summary>One task per rescue, in order, each completed with the clock's time since <paramref name="began"/> when it begins.</summary>
    /// <param name="processor">The processor.</param>
    /// <param name="time">Its clock.</param>
    /// <param name="began">The timestamp the times count from.</param>
    /// <param name="count">How many rescues to record.</param>
    /// <param name="onRescue">Called at each rescue with its number (1 for the first), after it is recorded.</param>
    /// <returns>The tasks.</returns>
    public static TaskCompletionSource<TimeSpan>[] Record(JobProcessor processor, FakeTimeProvider time, long began, int count, Action<int>? onRescue = null)
    {
        var rescues = Enumerable.Range(0, count).Select(_ => new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        var seen = 0;
        processor.Rescuing += () =>
        {
            var n = Interlocked.Increment(ref seen);
            if (n <= rescues.Length)
            {
                rescues[n - 1].TrySetResult(time.GetElapsedTime(began));
            }

            onRescue?.Invoke(n);
        };
        return rescues;
    }
}
