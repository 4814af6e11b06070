using Microsoft.Extensions.Logging;

namespace Ladder.Workers;

/// <summary>
/// The pool's logger, made unable to throw. <c>Logger.Log</c> rethrows what its providers throw (a file sink on a full
/// disk), and the pool logs in the middle of its own bookkeeping (a start, a settle, a fault, a breaker opening),
/// where an exception would stop it half-way: a start that never ends (the pool short for ever), a stuck worker never
/// killed, a breaker that never probes again. A failing log costs its entry, never the pool.
/// </summary>
internal sealed class NonThrowingLogger(ILogger inner) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => inner.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        try
        {
            inner.Log(logLevel, eventId, state, exception, formatter);
        }
#pragma warning disable CA1031 // Deliberately swallowed: see the summary; there is nowhere else to report it.
        catch (Exception)
#pragma warning restore CA1031
        {
            // The entry is lost; the bookkeeping around it goes on.
        }
    }
}
