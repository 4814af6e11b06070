using Microsoft.Data.Sqlite;

namespace Ladder.Jobs.Storage.Sqlite;

/// <summary>A caller's SQLite transaction on the queue's file: jobs are inserted with the caller's connection, in its transaction.</summary>
internal sealed class SqliteEnlistment(SqliteTransaction transaction, SqliteJobStore store) : JobEnlistment
{
    public override EnqueueResult Insert(NewJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var connection = transaction.Connection ?? throw new InvalidOperationException("The transaction has already completed.");
        var commands = new List<SqliteCommand>(2);
        try
        {
            return SqliteJobStore.Insert(
                (sql, values) =>
                {
                    var command = connection.CreateCommand();
                    commands.Add(command);
                    command.Transaction = transaction;
                    command.CommandText = sql;
                    for (var i = 0; i < values.Length; i++)
                    {
                        command.Parameters.AddWithValue("@p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), values[i] ?? DBNull.Value);
                    }

                    return command;
                },
                job,
                store.Now());
        }
        finally
        {
            foreach (var command in commands)
            {
                command.Dispose();
            }
        }
    }

    public override void Commit() => transaction.Commit();

    public override Task CommitAsync(CancellationToken cancellationToken) => transaction.CommitAsync(cancellationToken);
}
