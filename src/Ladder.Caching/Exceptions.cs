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
/// </summary>
public sealed class CacheReentrancyException : LadderCachingException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="view">The view.</param>
    /// <param name="key">The key that was re-entered.</param>
    public CacheReentrancyException(string view, object? key)
        : base($"The loader of view '{view}' key '{key}' read its own key: a load may not depend on itself.")
    {
        View = view;
        Key = key;
    }

    /// <summary>The view.</summary>
    public string View { get; }

    /// <summary>The key that was re-entered.</summary>
    public object? Key { get; }
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
