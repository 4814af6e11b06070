using System.Data.Common;

namespace Ladder.Sample.Domain;

internal sealed record StoredReplay(string Hash, long MatchId, byte[] Bytes, long? JobId);

internal sealed partial class LadderDatabase
{
    /// <summary>
    /// Stores the bytes inside the caller's transaction (the same one that enqueues the parse job). Returns false when
    /// a replay with this hash is already stored: the upload is a duplicate.
    /// </summary>
    public static async Task<bool> StoreReplayAsync(
        DbConnection connection, DbTransaction transaction, string hash, long matchId, byte[] bytes, string now,
        CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, """
            INSERT INTO replays (hash, match_id, bytes, size, uploaded_at) VALUES (@hash, @match, @bytes, @size, @now)
            ON CONFLICT (hash) DO NOTHING;
            """);
        Add(command, "@hash", hash);
        Add(command, "@match", matchId);
        Add(command, "@bytes", bytes);
        Add(command, "@size", bytes.Length);
        Add(command, "@now", now);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public static async Task SetReplayJobAsync(
        DbConnection connection, DbTransaction transaction, string hash, long jobId, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, "UPDATE replays SET job_id = @job WHERE hash = @hash;");
        Add(command, "@hash", hash);
        Add(command, "@job", jobId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<StoredReplay?> TryGetReplayAsync(string hash, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT match_id, bytes, job_id FROM replays WHERE hash = @hash;");
        Add(command, "@hash", hash);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new StoredReplay(hash, reader.GetInt64(0), (byte[])reader.GetValue(1), reader.IsDBNull(2) ? null : reader.GetInt64(2))
            : null;
    }
}
