using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Ladder.Sample.Hosting;

/// <summary>
/// Marks an exception that is an outcome the ladder expects and handles (a corrupt replay, a parse that hangs), not a
/// fault of the host. Thrown as the exception, or as the inner exception of the one the queue sees.
/// </summary>
internal interface IExpectedOutcome;

/// <summary>The replay file is corrupt or is not of its match: the job is dead-lettered with this reason.</summary>
internal sealed class ReplayRejectedException(string message) : Exception(message), IExpectedOutcome;

/// <summary>
/// The libraries log a failed job attempt as a warning, a dead job as an error (with the stack trace), and a parse
/// stopped at its deadline as warnings: right for a library, which cannot tell a bad file from a broken host. The
/// sample can: for its expected outcomes it logs the same events at Information, without the stack trace, and says
/// they are expected. Anything else (a crash, a failure of the database, a bug) keeps its level and its stack trace.
/// </summary>
internal static class ExpectedOutcomes
{
    // Ladder.Workers' events (docs/workers/metrics.md): a call passed its deadline (4006), the worker was killed after
    // it (4007). The sample's parser never looks at its token (ParserWorker), so a hang always ends that way.
    private const string WorkerPoolCategory = "Ladder.Workers.WorkerPool";

    public static void Register(IServiceCollection services)
    {
        services.TryAddSingleton(static sp => new LoggerFactory(
            sp.GetServices<ILoggerProvider>(),
            sp.GetRequiredService<IOptionsMonitor<LoggerFilterOptions>>(),
            sp.GetService<IOptions<LoggerFactoryOptions>>(),
            sp.GetService<IExternalScopeProvider>()));
        services.Replace(ServiceDescriptor.Singleton<ILoggerFactory>(static sp => new Factory(sp.GetRequiredService<LoggerFactory>())));
    }

    /// <summary>Why an event is expected, or null when it is not one of the sample's expected outcomes.</summary>
    public static string? Explain(string category, EventId eventId, Exception? exception)
    {
        if (exception is { } e && (e is IExpectedOutcome || e.InnerException is IExpectedOutcome))
        {
            return e.Message;
        }

        return category == WorkerPoolCategory ? eventId.Id switch
        {
            4006 => "a replay that hangs the parser is stopped at the parse deadline",
            4007 => "the parser ignores cancellation, like the third-party parser it stands for, so the pool kills it",
            _ => null,
        } : null;
    }

    // The inner factory is a singleton the container owns and disposes.
    private sealed class Factory(ILoggerFactory inner) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) => new Logger(inner.CreateLogger(categoryName), categoryName);

        public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

        public void Dispose()
        {
        }
    }

    private sealed class Logger(ILogger inner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel is LogLevel.Warning or LogLevel.Error && Explain(category, eventId, exception) is { } why)
            {
                // Same event and state (structured properties kept); the message says why, the stack trace goes.
                inner.Log(LogLevel.Information, eventId, state, null, (s, _) => $"{formatter(s, exception)} (expected: {why})");
                return;
            }

            inner.Log(logLevel, eventId, state, exception, formatter);
        }
    }
}
