namespace Ladder.Jobs;

/// <summary>The base of every exception Ladder.Jobs throws.</summary>
public class LadderJobsException : Exception
{
    /// <summary>Creates the exception.</summary>
    public LadderJobsException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public LadderJobsException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public LadderJobsException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Options are invalid; <see cref="Failures"/> lists every problem.</summary>
public sealed class LadderJobsOptionsException : LadderJobsException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="failures">Every problem found.</param>
    public LadderJobsOptionsException(IReadOnlyList<string> failures)
        : base("Invalid Ladder.Jobs options: " + string.Join(" ", failures)) => Failures = failures;

    /// <summary>Every problem found, each naming its option.</summary>
    public IReadOnlyList<string> Failures { get; }
}

/// <summary>The queue's store cannot be opened or written (SQLite: a missing or read-only directory, an I/O error).</summary>
public class JobStoreException : LadderJobsException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="path">The store's location (<see cref="Storage.JobStore.Location"/>: for SQLite, the file).</param>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause, if any.</param>
    public JobStoreException(string path, string message, Exception? innerException = null)
        : base(message, innerException) => Path = path;

    /// <summary>The store's location (<see cref="Storage.JobStore.Location"/>): for SQLite, the file; for a server store, its server, database and schema.</summary>
    public string Path { get; }
}

/// <summary>
/// The store is not a Ladder.Jobs store (for SQLite: not a SQLite file, another application's) or has a newer
/// schema. Nothing in it was changed.
/// </summary>
public sealed class JobStoreIncompatibleException : JobStoreException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="path">The store's location (for SQLite, the file).</param>
    /// <param name="message">Why it was refused.</param>
    /// <param name="foundSchemaVersion">The schema version found, if there is one.</param>
    /// <param name="innerException">The cause, if any.</param>
    public JobStoreIncompatibleException(string path, string message, long? foundSchemaVersion, Exception? innerException = null)
        : base(path, message, innerException) => FoundSchemaVersion = foundSchemaVersion;

    /// <summary>The schema version found (SQLite: the file's <c>user_version</c>), when there is one.</summary>
    public long? FoundSchemaVersion { get; }

    /// <summary>The newest schema version of the SQLite store this library knows (another store: its <see cref="Storage.JobStore.SchemaVersion"/>).</summary>
    public static long SupportedSchemaVersion => Storage.Sqlite.Schema.Version;
}

/// <summary>Thrown by a handler to fail its job permanently (e.g. corrupt input): no retry, the job is dead with this reason.</summary>
public sealed class JobPermanentFailureException : LadderJobsException
{
    /// <summary>Creates the exception.</summary>
    public JobPermanentFailureException()
    {
    }

    /// <summary>Creates the exception with the reason.</summary>
    /// <param name="message">The reason, kept as the job's last error.</param>
    public JobPermanentFailureException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the reason and its cause.</summary>
    /// <param name="message">The reason, kept as the job's last error.</param>
    /// <param name="innerException">The cause.</param>
    public JobPermanentFailureException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>No handler is registered for a job's kind. The attempt fails and is retried (a later deploy may know the kind), then the job is dead.</summary>
public sealed class UnknownJobKindException : LadderJobsException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="kind">The unknown kind.</param>
    public UnknownJobKindException(string kind)
        : base($"No handler is registered for job kind '{kind}'.") => Kind = kind;

    /// <summary>The unknown kind.</summary>
    public string Kind { get; }
}

/// <summary>A job's payload could not be read as its argument type. The job is dead at once: a retry cannot fix it.</summary>
public sealed class JobPayloadException : LadderJobsException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="kind">The job kind.</param>
    /// <param name="argumentType">The type the payload should have been.</param>
    /// <param name="innerException">The deserializer's error.</param>
    public JobPayloadException(string kind, Type argumentType, Exception? innerException)
        : base($"The payload of a '{kind}' job is not a valid {argumentType.Name}: {innerException?.Message}", innerException) => Kind = kind;

    /// <summary>The job kind.</summary>
    public string Kind { get; }
}

/// <summary>An attempt ran past its job's timeout.</summary>
public sealed class JobTimeoutException : LadderJobsException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="timeout">The job's timeout.</param>
    /// <param name="handlerStopped">Whether the handler stopped when its token was cancelled.</param>
    public JobTimeoutException(TimeSpan timeout, bool handlerStopped)
        : base(handlerStopped
            ? $"The job ran past its timeout of {timeout}."
            : $"The job ran past its timeout of {timeout} and its handler ignored cancellation; the attempt was failed without it.")
    {
        Timeout = timeout;
        HandlerStopped = handlerStopped;
    }

    /// <summary>The job's timeout.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Whether the handler stopped when its token was cancelled.</summary>
    public bool HandlerStopped { get; }
}
