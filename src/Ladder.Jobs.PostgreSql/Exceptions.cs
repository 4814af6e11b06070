namespace Ladder.Jobs;

/// <summary>What keeps a <see cref="PostgresJobStore"/> from working, as <see cref="PostgresJobStoreException.Problem"/> says.</summary>
public enum PostgresJobStoreProblem
{
    /// <summary>The server cannot be reached (down, wrong host or port, refusing connections, starting up).</summary>
    Unreachable,

    /// <summary>The server refused the user name or password (SQLSTATE 28P01, 28000).</summary>
    AuthenticationFailed,

    /// <summary>The database in the connection string does not exist (SQLSTATE 3D000).</summary>
    DatabaseMissing,

    /// <summary>The user may not create or use the store's schema or tables (SQLSTATE 42501).</summary>
    PermissionDenied,

    /// <summary>Another error of the server or of the connection.</summary>
    Other,
}

/// <summary>
/// A <see cref="PostgresJobStore"/> cannot open or write its database; <see cref="Problem"/> names what is wrong,
/// <see cref="JobStoreException.Path"/> the server, database and schema.
/// </summary>
public sealed class PostgresJobStoreException : JobStoreException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="location">The server, database and schema.</param>
    /// <param name="problem">What is wrong.</param>
    /// <param name="sqlState">The server's error code, when it sent one.</param>
    /// <param name="message">What went wrong and what to check.</param>
    /// <param name="innerException">The cause.</param>
    public PostgresJobStoreException(string location, PostgresJobStoreProblem problem, string? sqlState, string message, Exception? innerException = null)
        : base(location, message, innerException)
    {
        Problem = problem;
        SqlState = sqlState;
    }

    /// <summary>What is wrong.</summary>
    public PostgresJobStoreProblem Problem { get; }

    /// <summary>The server's error code (SQLSTATE), when it sent one.</summary>
    public string? SqlState { get; }
}
