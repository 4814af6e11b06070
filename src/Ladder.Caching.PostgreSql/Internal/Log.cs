using Microsoft.Extensions.Logging;

namespace Ladder.Caching.PostgreSql.Internal;

/// <summary>Every log message of Ladder.Caching.PostgreSql; event ids 5100-5199.</summary>
internal static partial class Log
{
    [LoggerMessage(5100, LogLevel.Information, "Listening on channel '{Channel}' for the change log {Table}; applied up to sequence {Position}.")]
    public static partial void Listening(ILogger logger, string channel, string table, long position);

    [LoggerMessage(5101, LogLevel.Warning, "The listener connection failed; reconnecting in {Delay} (attempt {Attempt}).")]
    public static partial void ListenerFailed(ILogger logger, Exception exception, TimeSpan delay, int attempt);

    [LoggerMessage(5102, LogLevel.Warning, "Writing {Count} changes to the change log failed; retrying in {Delay} (nothing is dropped).")]
    public static partial void WriteFailed(ILogger logger, Exception exception, int count, TimeSpan delay);

    [LoggerMessage(5103, LogLevel.Warning, "Reading the change log after sequence {Position} failed; retrying in {Delay}.")]
    public static partial void ReadFailed(ILogger logger, Exception exception, long position, TimeSpan delay);

    [LoggerMessage(5104, LogLevel.Warning, "The change log was pruned past this node's position {Position} (pruned through {PrunedThrough}): changes may have been missed, so every view is invalidated.")]
    public static partial void PrunedPastPosition(ILogger logger, long position, long prunedThrough);

    [LoggerMessage(5105, LogLevel.Debug, "Caught up ({Reason}) from sequence {From} to {To}: {Rows} rows in {Elapsed}.")]
    public static partial void CaughtUp(ILogger logger, string reason, long from, long to, int rows, TimeSpan elapsed);

    [LoggerMessage(5106, LogLevel.Debug, "Sequence {Sequence} is a hole (a transaction still open or rolled back); waiting for transactions older than {Horizon} to finish.")]
    public static partial void HolePending(ILogger logger, long sequence, long horizon);

    [LoggerMessage(5107, LogLevel.Debug, "Sequences {From} to {To} were never committed (rolled back): skipped.")]
    public static partial void HoleSkipped(ILogger logger, long from, long to);

    [LoggerMessage(5108, LogLevel.Information, "Pruned {Rows} change-log rows through sequence {PrunedThrough}.")]
    public static partial void Pruned(ILogger logger, int rows, long prunedThrough);

    [LoggerMessage(5109, LogLevel.Warning, "Pruning the change log failed; the next attempt is in {Interval}.")]
    public static partial void PruneFailed(ILogger logger, Exception exception, TimeSpan interval);

    [LoggerMessage(5110, LogLevel.Warning, "Ignored a malformed change-log row or notification (sequence {Sequence}): {Detail}.")]
    public static partial void Malformed(ILogger logger, long sequence, string detail);

    [LoggerMessage(5111, LogLevel.Warning, "Disposed with {Count} changes not written to the change log within the shutdown timeout of {Timeout}; other nodes will not see them.")]
    public static partial void ShutdownDropped(ILogger logger, int count, TimeSpan timeout);

    [LoggerMessage(5112, LogLevel.Warning, "A change was sent after the backplane was disposed; it stays local.")]
    public static partial void SentAfterDispose(ILogger logger);

    [LoggerMessage(5113, LogLevel.Error, "The change log {Table} cannot be used; retrying in {Delay}.")]
    public static partial void SchemaFailed(ILogger logger, Exception exception, string table, TimeSpan delay);

    [LoggerMessage(5114, LogLevel.Information, "Started at sequence {Position} with a cache already subscribed: what it loaded before the start is invalidated once.")]
    public static partial void StartInvalidated(ILogger logger, long position);

    [LoggerMessage(5115, LogLevel.Warning, "The listener connection received nothing for {Interval} and did not answer a probe within {Timeout}: it is treated as dead (reconnecting, then catching up).")]
    public static partial void ProbeFailed(ILogger logger, Exception exception, TimeSpan interval, TimeSpan timeout);

    [LoggerMessage(5116, LogLevel.Debug, "The listener's probe found sequence {Max} in the log beyond this node's position {Position} (a notification did not arrive): catching up.")]
    public static partial void ProbeFoundRows(ILogger logger, long max, long position);
}
