using Microsoft.Extensions.Logging;

namespace Ladder.Caching.Internal;

/// <summary>Every log message of Ladder.Caching; event ids 5000-5099.</summary>
internal static partial class Log
{
    [LoggerMessage(5000, LogLevel.Warning, "Ignored a change to unknown entity '{Entity}': no view depends on it and it is not declared.")]
    public static partial void UnknownEntity(ILogger logger, string? entity);

    [LoggerMessage(5001, LogLevel.Warning, "Ignored unknown field '{Field}' in a change to entity '{Entity}': the entity does not declare it.")]
    public static partial void UnknownField(ILogger logger, string entity, string? field);

    [LoggerMessage(5002, LogLevel.Warning, "Loading view '{View}' key '{Key}' failed; nothing was stored.")]
    public static partial void LoadFailed(ILogger logger, Exception exception, string view, object key);

    [LoggerMessage(5003, LogLevel.Warning, "Loading view '{View}' key '{Key}' exceeded its timeout of {Timeout}; waiting readers were released.")]
    public static partial void LoadTimedOut(ILogger logger, string view, object key, TimeSpan timeout);

    [LoggerMessage(5004, LogLevel.Debug, "Discarded the load of view '{View}' key '{Key}': a change was published while it ran.")]
    public static partial void LoadDiscarded(ILogger logger, string view, object key);

    [LoggerMessage(5005, LogLevel.Information, "Served the last good value of view '{View}' key '{Key}' (fail-safe) after its load failed.")]
    public static partial void FailSafeServed(ILogger logger, string view, object key);

    [LoggerMessage(5006, LogLevel.Warning, "The invalidation backplane reconnected: every view is invalidated, since changes may have been missed.")]
    public static partial void BackplaneReconnected(ILogger logger);

    [LoggerMessage(5007, LogLevel.Debug, "Eager refresh of view '{View}' started {Count} loads.")]
    public static partial void EagerRefresh(ILogger logger, string view, int count);

    [LoggerMessage(5008, LogLevel.Error, "Eager refresh of view '{View}' failed to start its loads.")]
    public static partial void EagerRefreshFailed(ILogger logger, Exception exception, string view);

    [LoggerMessage(5009, LogLevel.Warning, "Disposing the cache ran loaders' cancellation callbacks that threw; their readers were released all the same.")]
    public static partial void DisposeCallbacksFailed(ILogger logger, Exception exception);

    [LoggerMessage(5010, LogLevel.Debug, "The invalidation backplane started: every view loaded before the start is invalidated.")]
    public static partial void BackplaneStarted(ILogger logger);
}
