namespace Ladder.Jobs;

/// <summary>What a rate limit counts the starts of.</summary>
public enum RateLimitScope
{
    /// <summary>Every job of a queue.</summary>
    Queue = 0,

    /// <summary>Every job with a concurrency key (<see cref="JobOptions.ConcurrencyKey"/>), in any queue.</summary>
    ConcurrencyKey = 1,
}

/// <summary>
/// At most <paramref name="MaxStarts"/> starts in any <paramref name="Window"/>, across every process and host sharing
/// the store, of the jobs of a queue or of a concurrency key. Enforced by the store when it claims (a claim is the start:
/// rate-limited jobs are never claimed ahead); a job held back waits, spending no attempt. See docs/jobs/concurrency.md.
/// </summary>
/// <param name="Scope">What it limits.</param>
/// <param name="Name">The queue, or the concurrency key.</param>
/// <param name="MaxStarts">Starts allowed per window: 1 to <see cref="MaxStartsLimit"/>.</param>
/// <param name="Window">The sliding window: <see cref="MinWindow"/> to <see cref="MaxWindow"/>, whole milliseconds.</param>
public sealed record JobRateLimit(RateLimitScope Scope, string Name, int MaxStarts, TimeSpan Window)
{
    /// <summary>The largest <see cref="MaxStarts"/>: 100,000.</summary>
    public const int MaxStartsLimit = 100_000;

    /// <summary>The shortest <see cref="Window"/>: 10 ms.</summary>
    public static TimeSpan MinWindow { get; } = TimeSpan.FromMilliseconds(10);

    /// <summary>The longest <see cref="Window"/>: one day (the store keeps a row per start within the window).</summary>
    public static TimeSpan MaxWindow { get; } = TimeSpan.FromDays(1);

    /// <summary>Throws if the limit is invalid.</summary>
    /// <exception cref="ArgumentException">The name is empty, the scope unknown, or a number out of range.</exception>
    internal void Validate()
    {
        if (!Enum.IsDefined(Scope))
        {
            throw new ArgumentException($"Unknown rate-limit scope {(int)Scope}.", nameof(Scope));
        }

        if (string.IsNullOrWhiteSpace(Name) || (Scope == RateLimitScope.ConcurrencyKey && Name.Length > JobOptions.MaxConcurrencyKeyLength))
        {
            throw new ArgumentException($"A rate limit needs the name of its {(Scope == RateLimitScope.Queue ? "queue" : "concurrency key")} (not empty; a key at most {JobOptions.MaxConcurrencyKeyLength} characters).", nameof(Name));
        }

        if (MaxStarts is < 1 or > MaxStartsLimit)
        {
            throw new ArgumentException($"MaxStarts must be 1..{MaxStartsLimit} (was {MaxStarts}).", nameof(MaxStarts));
        }

        if (Window < MinWindow || Window > MaxWindow || Window.Ticks % TimeSpan.TicksPerMillisecond != 0)
        {
            throw new ArgumentException($"Window must be {MinWindow.TotalMilliseconds} ms to {MaxWindow}, in whole milliseconds (was {Window}).", nameof(Window));
        }
    }
}

/// <summary>A concurrency key in use, as the store sees it now.</summary>
/// <param name="Key">The key.</param>
/// <param name="Limit">Its limit (the largest of its jobs' limits, when they differ).</param>
/// <param name="Running">Jobs with the key running now (claimed).</param>
/// <param name="Waiting">Jobs with the key waiting to run (scheduled, ready, or failed with a retry).</param>
public sealed record ConcurrencyKeyUsage(string Key, int Limit, long Running, long Waiting);
