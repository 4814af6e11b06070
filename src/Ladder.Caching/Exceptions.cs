namespace Ladder.Caching;

/// <summary>The base of every exception Ladder.Caching throws. A loader's own exception reaches the caller as is.</summary>
public class LadderCachingException : Exception
{
    /// <summary>Creates the exception.</summary>
    public LadderCachingException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public LadderCachingException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public LadderCachingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The options are invalid; <see cref="Failures"/> lists every problem, not just the first.</summary>
public sealed class CacheConfigurationException : LadderCachingException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="failures">Every problem found.</param>
    public CacheConfigurationException(IReadOnlyList<string> failures)
        : base("Ladder.Caching options are invalid:" + Environment.NewLine + "- " + string.Join(Environment.NewLine + "- ", failures ?? []))
    {
        Failures = failures ?? [];
    }

    /// <summary>Every problem found.</summary>
    public IReadOnlyList<string> Failures { get; }
}

/// <summary>A load did not finish within the view's load timeout; waiting readers were released with this.</summary>
public sealed class CacheLoadTimeoutException : LadderCachingException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="view">The view.</param>
    /// <param name="key">The key being loaded.</param>
    /// <param name="timeout">The limit that was exceeded.</param>
    public CacheLoadTimeoutException(string view, object? key, TimeSpan timeout)
        : base($"Loading view '{view}' key '{key}' did not finish within its load timeout of {timeout}.")
    {
        View = view;
        Key = key;
        Timeout = timeout;
    }

    /// <summary>The view.</summary>
    public string View { get; }

    /// <summary>The key being loaded.</summary>
    public object? Key { get; }

    /// <summary>The limit that was exceeded.</summary>
    public TimeSpan Timeout { get; }
}

/// <summary>
/// A loader read the key it is loading (directly or through other views, in its own flow or through a cycle of loads
/// started by other readers, e.g. A's loader reads B while B's loader reads A): it would wait for itself forever.
/// <see cref="Cycle"/> names every load of the cycle, so each reader it fails is told the real cycle.
/// </summary>
public sealed class CacheReentrancyException : LadderCachingException
{
    /// <summary>Creates the exception for a loader that read its own key directly.</summary>
    /// <param name="view">The view.</param>
    /// <param name="key">The key that was re-entered.</param>
    public CacheReentrancyException(string view, object? key)
        : this(view, key, [Label(view, key), Label(view, key)])
    {
    }

    /// <summary>Creates the exception for a cycle of loads.</summary>
    /// <param name="view">The view whose read was refused: reading it would have closed the cycle.</param>
    /// <param name="key">The key whose read was refused.</param>
    /// <param name="cycle">The loads of the cycle in wait order, from the re-entered one back to it (see <see cref="Cycle"/>).</param>
    public CacheReentrancyException(string view, object? key, IReadOnlyList<string> cycle)
        : base(Describe(view, key, cycle))
    {
        View = view;
        Key = key;
        Cycle = cycle ?? [];
    }

    /// <summary>The view whose read was refused (the re-entered load's view).</summary>
    public string View { get; }

    /// <summary>The key that was re-entered.</summary>
    public object? Key { get; }

    /// <summary>
    /// The loads of the cycle in wait order, each as <c>view 'a' key 'x'</c>: it starts and ends with the re-entered
    /// load, and each load waits for the next (A→B→A: <c>view 'a' key 'x'</c>, <c>view 'b' key 'x'</c>,
    /// <c>view 'a' key 'x'</c>). A loader that read its own key directly: that load twice.
    /// </summary>
    public IReadOnlyList<string> Cycle { get; }

    private static string Label(string view, object? key) => $"view '{view}' key '{key}'";

    private static string Describe(string view, object? key, IReadOnlyList<string>? cycle) =>
        cycle is null || cycle.Count <= 2
            ? $"The loader of {Label(view, key)} read its own key: a load may not depend on itself."
            : $"The loader of {Label(view, key)} read its own key through other loads: {string.Join(" → ", cycle)} (each load waits for the next); a load may not depend on itself.";
}

/// <summary>No view with that name and those key and value types was declared.</summary>
public sealed class CacheViewNotFoundException : LadderCachingException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="view">The name asked for.</param>
    /// <param name="detail">Why it did not match.</param>
    public CacheViewNotFoundException(string view, string detail)
        : base($"View '{view}': {detail}")
    {
        View = view;
    }

    /// <summary>The name asked for.</summary>
    public string View { get; }
}
