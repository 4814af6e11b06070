namespace Ladder.IntegrationTests.Support;

/// <summary>
/// Waits for a condition observed through a child process's HTTP API. Across a process boundary the API is the
/// only signal there is, so this re-asks it every 100 ms until the condition holds or a generous ceiling passes;
/// it never sleeps a fixed time and then asserts.
/// </summary>
public static class Eventually
{
    public static async Task<T> WaitAsync<T>(
        Func<CancellationToken, Task<T>> probe, Func<T, bool> done, TimeSpan ceiling, CancellationToken cancellationToken, string? what = null)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ceiling);
        T last = default!;
        try
        {
            while (true)
            {
                last = await probe(timeout.Token);
                if (done(last))
                {
                    return last;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(100), TimeProvider.System, timeout.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"Waited {ceiling} for {what ?? "a condition"}; last seen: {last}");
        }
    }
}
