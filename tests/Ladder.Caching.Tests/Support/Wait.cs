namespace Ladder.Caching.Tests.Support;

public static class Wait
{
    /// <summary>Waits for a condition that another thread makes true, yielding between checks; the ceiling is generous.</summary>
    public static async Task UntilAsync(Func<bool> condition, string what, CancellationToken cancellationToken)
    {
        using var ceiling = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        ceiling.CancelAfter(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            if (ceiling.IsCancellationRequested)
            {
                throw new TimeoutException($"Gave up waiting for: {what}");
            }

            await Task.Yield();
        }
    }

    /// <summary>Awaits a signal with a generous ceiling.</summary>
    public static Task For(Task signal, CancellationToken cancellationToken) => signal.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
}
