using System.Security.Cryptography;
using Ladder.Sample.Api;
using Ladder.Sample.Domain;
using Microsoft.Data.Sqlite;

namespace Ladder.Sample.Hosting;

/// <summary>Accepts replay uploads: stores the bytes and enqueues the parse job in one transaction.</summary>
internal sealed class ReplayIntake(LadderDatabase db)
{
    public async Task<UploadResponse> UploadAsync(long matchId, byte[] bytes, CancellationToken ct)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (await db.TryGetMatchAsync(matchId, ct) is null)
        {
            throw LadderProblemException.NotFound($"There is no match {matchId}.");
        }

        await using var connection = await db.OpenAsync(ct);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(ct);
        var stored = await LadderDatabase.StoreReplayAsync(connection, transaction, hash, matchId, bytes, db.Now(), ct);
        await transaction.CommitAsync(ct);
        return new UploadResponse(hash, matchId, "", !stored);
    }

    public async Task<ReplayStatus> GetStatusAsync(string hash, CancellationToken ct)
    {
        var replay = await db.TryGetReplayAsync(hash, ct) ?? throw LadderProblemException.NotFound($"There is no replay {hash}.");
        var match = await db.TryGetMatchAsync(replay.MatchId, ct);
        return new ReplayStatus(hash, replay.MatchId, replay.JobId, "unknown", 0, null, match?.State ?? "missing");
    }
}
