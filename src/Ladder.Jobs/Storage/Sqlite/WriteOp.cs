using Microsoft.Data.Sqlite;

namespace Ladder.Jobs.Storage.Sqlite;

/// <summary>One operation of a group-commit batch. Runs inside its own savepoint; acknowledged only after the batch commits.</summary>
internal abstract class WriteOp
{
    /// <summary>Whether the commit holding this operation must reach the disk before it is acknowledged.</summary>
    public abstract bool Durable { get; }

    /// <summary>
    /// Whether the operation writes with one statement. SQLite undoes a failed statement by itself and keeps the
    /// transaction, so such an operation needs no savepoint of its own.
    /// </summary>
    public bool SingleStatement { get; init; }

    /// <summary>Runs in the writer's transaction (inside a savepoint). May run again if the batch is retried.</summary>
    public abstract void Execute(WriterSession session);

    /// <summary>The batch committed: publish the result (and any wake-up).</summary>
    public abstract void Committed();

    /// <summary>This operation failed (its savepoint was rolled back) or the batch could not commit.</summary>
    public abstract void Failed(Exception error);
}

/// <summary>An operation with a result, run by a delegate.</summary>
internal sealed class WriteOp<T>(Func<WriterSession, T> execute, bool durable, Action<T>? onCommitted = null) : WriteOp
{
    private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private T _result = default!;

    public Task<T> Task => _completion.Task;

    public override bool Durable => durable;

    public override void Execute(WriterSession session) => _result = execute(session);

    public override void Committed()
    {
        // The commit happened whatever the callback does: a throwing callback (logged by the writer) must never leave
        // the operation's caller waiting for ever.
        try
        {
            onCommitted?.Invoke(_result);
        }
        finally
        {
            _completion.TrySetResult(_result);
        }
    }

    public override void Failed(Exception error) => _completion.TrySetException(error);
}

/// <summary>The writer connection and its prepared commands, reused across batches.</summary>
internal sealed class WriterSession(SqliteConnection connection) : IDisposable
{
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

    public SqliteConnection Connection => connection;

    /// <summary>A cached command for <paramref name="sql"/> with its parameters <c>@p0..@pN</c> bound to <paramref name="values"/>.</summary>
    public SqliteCommand Command(string sql, params ReadOnlySpan<object?> values)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = connection.CreateCommand();
            command.CommandText = sql;
            for (var i = 0; i < values.Length; i++)
            {
                command.Parameters.Add(new SqliteParameter("@p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), null));
            }

            _commands.Add(sql, command);
        }

        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i] ?? DBNull.Value;
        }

        return command;
    }

    public int Execute(string sql, params ReadOnlySpan<object?> values) => Command(sql, values).ExecuteNonQuery();

    public void Dispose()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }

        _commands.Clear();
    }
}
