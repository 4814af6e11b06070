namespace Ladder.Jobs;

/// <summary>Exponential backoff with jitter: base × 2^(attempt-1), capped, then a random point in its upper half.</summary>
internal static class Backoff
{
    public static TimeSpan Delay(int attempt, TimeSpan baseDelay, TimeSpan maxDelay)
    {
        var exponent = Math.Clamp(attempt - 1, 0, 30);
        var raw = Math.Min(baseDelay.TotalMilliseconds * Math.Pow(2, exponent), maxDelay.TotalMilliseconds);

        // "Equal jitter": never under half the delay (so retries really back off), spread over the other half
        // so jobs that failed together do not retry together. Not security-sensitive.
#pragma warning disable CA5394 // Random is fine for jitter.
        return TimeSpan.FromMilliseconds((raw / 2) + (Random.Shared.NextDouble() * raw / 2));
#pragma warning restore CA5394
    }
}
