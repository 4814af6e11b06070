namespace Ladder.Caching;

/// <summary>
/// The base of every exception Ladder.Caching.PostgreSql throws (itself a <see cref="LadderCachingException"/>).
/// </summary>
public class PostgresBackplaneException : LadderCachingException
{
    /// <summary>Creates the exception.</summary>
    public PostgresBackplaneException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public PostgresBackplaneException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public PostgresBackplaneException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The backplane options are invalid; <see cref="Failures"/> lists every problem, not just the first.</summary>
public sealed class PostgresBackplaneConfigurationException : PostgresBackplaneException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="failures">Every problem found.</param>
    public PostgresBackplaneConfigurationException(IReadOnlyList<string> failures)
        : base("Ladder.Caching.PostgreSql options are invalid:" + Environment.NewLine + "- " + string.Join(Environment.NewLine + "- ", failures ?? []))
    {
        Failures = failures ?? [];
    }

    /// <summary>Every problem found.</summary>
    public IReadOnlyList<string> Failures { get; }
}

/// <summary>
/// The change log cannot be used: its table is missing (and <see cref="PostgresBackplaneOptions.CreateSchema"/> is
/// off) or the database user lacks a privilege on it.
/// </summary>
public sealed class PostgresBackplaneSchemaException : PostgresBackplaneException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="table">The qualified table name.</param>
    /// <param name="sqlState">The PostgreSQL error code, when the server reported one (<c>42P01</c>, <c>42501</c>, ...).</param>
    /// <param name="message">What is wrong and how to fix it.</param>
    /// <param name="innerException">The server's error, if any.</param>
    public PostgresBackplaneSchemaException(string table, string? sqlState, string message, Exception? innerException = null)
        : base(message, innerException!)
    {
        Table = table;
        SqlState = sqlState;
    }

    /// <summary>The qualified table name.</summary>
    public string Table { get; }

    /// <summary>The PostgreSQL error code, when the server reported one.</summary>
    public string? SqlState { get; }
}

/// <summary>
/// <see cref="PostgresBackplane.WaitForSequenceAsync"/> reached its timeout before this node applied the sequence
/// (a deadline, not a cancellation).
/// </summary>
public sealed class BackplaneWaitTimeoutException : PostgresBackplaneException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="sequence">The sequence waited for.</param>
    /// <param name="position">The last sequence this node had applied when the wait ended.</param>
    /// <param name="timeout">The limit that was reached.</param>
    public BackplaneWaitTimeoutException(long sequence, long position, TimeSpan timeout)
        : base($"This node had not applied change-log sequence {sequence} within {timeout} (it has applied up to {position}).")
    {
        Sequence = sequence;
        Position = position;
        Timeout = timeout;
    }

    /// <summary>The sequence waited for.</summary>
    public long Sequence { get; }

    /// <summary>The last sequence this node had applied when the wait ended.</summary>
    public long Position { get; }

    /// <summary>The limit that was reached.</summary>
    public TimeSpan Timeout { get; }
}
