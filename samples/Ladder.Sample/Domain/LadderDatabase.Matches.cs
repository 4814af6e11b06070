using System.Data.Common;

namespace Ladder.Sample.Domain;

internal sealed record Match(
    long Id, long Player1Id, string Race1, long Player2Id, string Race2, string Map, string State,
    long? WinnerId, int? Change1, int? Change2, string? Source, string? ReplayHash);

/// <summary>
/// The outcome of recording a result. <see cref="Recorded"/> is false when the match was already final: recording is
/// idempotent, which is what makes an at-least-once job exactly-once in effect.
/// </summary>
internal sealed record ResultOutcome(bool Recorded, Match Match);

internal sealed partial class LadderDatabase
{
    public async Task<Match> CreateMatchAsync(
        long player1, Race race1, long player2, Race race2, string map, CancellationToken cancellationToken = default)
    {
        if (player1 == player2)
        {
            throw LadderProblemException.Invalid("A match needs two different players.");
        }

        await using var connection = await OpenAsync(cancellationToken);
        foreach (var playerId in new[] { player1, player2 })
        {
            if (await TryGetPlayerAsync(connection, null, playerId, cancellationToken) is null)
            {
                throw LadderProblemException.NotFound($"There is no player {playerId}.");
            }
        }

        await using var command = Command(connection, null, """
            INSERT INTO matches (player1_id, race1, player2_id, race2, map, state, created_at)
            VALUES (@p1, @r1, @p2, @r2, @map, 'created', @now) RETURNING id;
            """);
        Add(command, "@p1", player1);
        Add(command, "@r1", race1.ToName());
        Add(command, "@p2", player2);
        Add(command, "@r2", race2.ToName());
        Add(command, "@map", map);
        Add(command, "@now", Now());
        var id = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        return new Match(id, player1, race1.ToName(), player2, race2.ToName(), map, "created", null, null, null, null, null);
    }

    public async Task<Match?> TryGetMatchAsync(long id, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await TryGetMatchAsync(connection, null, id, cancellationToken);
    }

    private const string MatchColumns =
        "id, player1_id, race1, player2_id, race2, map, state, winner_id, change1, change2, source, replay_hash";

    private static Match ReadMatch(DbDataReader r) => new(
        r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetInt64(3), r.GetString(4), r.GetString(5), r.GetString(6),
        r.IsDBNull(7) ? null : r.GetInt64(7), r.IsDBNull(8) ? null : r.GetInt32(8), r.IsDBNull(9) ? null : r.GetInt32(9),
        r.IsDBNull(10) ? null : r.GetString(10), r.IsDBNull(11) ? null : r.GetString(11));

    private static async Task<Match?> TryGetMatchAsync(
        DbConnection connection, DbTransaction? transaction, long id, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, $"SELECT {MatchColumns} FROM matches WHERE id = @id;");
        Add(command, "@id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadMatch(reader) : null;
    }

    public async Task<IReadOnlyList<Match>> RecentMatchesAsync(long playerId, int count, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"""
            SELECT {MatchColumns} FROM matches WHERE player1_id = @id OR player2_id = @id ORDER BY id DESC LIMIT @count;
            """);
        Add(command, "@id", playerId);
        Add(command, "@count", count);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var matches = new List<Match>(count);
        while (await reader.ReadAsync(cancellationToken))
        {
            matches.Add(ReadMatch(reader));
        }

        return matches;
    }

    /// <summary>
    /// Records the winner and both rating changes in one transaction. A match that is already completed or aborted is
    /// left as it is (<see cref="ResultOutcome.Recorded"/> false): a re-run of the same parse job counts nothing twice.
    /// </summary>
    public async Task<ResultOutcome> RecordResultAsync(
        long matchId, long winnerId, string source, string? replayHash, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (Dialect.ResultLock is { } resultLock)
        {
            await ExecuteAsync(connection, transaction, resultLock, cancellationToken);
        }

        var match = await TryGetMatchAsync(connection, transaction, matchId, cancellationToken)
            ?? throw LadderProblemException.NotFound($"There is no match {matchId}.");
        if (match.State != "created")
        {
            return new ResultOutcome(false, match);
        }

        if (winnerId != match.Player1Id && winnerId != match.Player2Id)
        {
            throw LadderProblemException.Invalid($"Player {winnerId} did not play match {matchId}.");
        }

        var winnerIsFirst = winnerId == match.Player1Id;
        var (loserId, winnerRace, loserRace) = winnerIsFirst
            ? (match.Player2Id, match.Race1, match.Race2)
            : (match.Player1Id, match.Race2, match.Race1);
        var winnerRating = await RatingAsync(connection, transaction, winnerId, winnerRace, cancellationToken);
        var loserRating = await RatingAsync(connection, transaction, loserId, loserRace, cancellationToken);
        var gain = Elo.Gain(winnerRating, loserRating);
        await ApplyAsync(connection, transaction, winnerId, winnerRace, +gain, win: true, cancellationToken);
        await ApplyAsync(connection, transaction, loserId, loserRace, -gain, win: false, cancellationToken);

        await using (var update = Command(connection, transaction, """
            UPDATE matches SET state = 'completed', winner_id = @winner, change1 = @c1, change2 = @c2,
                source = @source, replay_hash = @hash, completed_at = @now
            WHERE id = @id AND state = 'created';
            """))
        {
            Add(update, "@id", matchId);
            Add(update, "@winner", winnerId);
            Add(update, "@c1", winnerIsFirst ? gain : -gain);
            Add(update, "@c2", winnerIsFirst ? -gain : gain);
            Add(update, "@source", source);
            Add(update, "@hash", (object?)replayHash ?? DBNull.Value);
            Add(update, "@now", Now());
            await update.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return new ResultOutcome(true, match with
        {
            State = "completed",
            WinnerId = winnerId,
            Change1 = winnerIsFirst ? gain : -gain,
            Change2 = winnerIsFirst ? -gain : gain,
            Source = source,
            ReplayHash = replayHash,
        });
    }

    /// <summary>Aborts a match that has no result yet; ratings are untouched.</summary>
    public async Task<Match> AbortMatchAsync(long matchId, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "UPDATE matches SET state = 'aborted', completed_at = @now WHERE id = @id AND state = 'created';");
        Add(command, "@id", matchId);
        Add(command, "@now", Now());
        await command.ExecuteNonQueryAsync(cancellationToken);
        var match = await TryGetMatchAsync(connection, null, matchId, cancellationToken)
            ?? throw LadderProblemException.NotFound($"There is no match {matchId}.");
        return match.State == "aborted" ? match : throw LadderProblemException.Conflict($"Match {matchId} is already {match.State}.");
    }

    private static async Task<int> RatingAsync(
        DbConnection connection, DbTransaction transaction, long playerId, string race, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, "SELECT rating FROM ratings WHERE player_id = @id AND race = @race;");
        Add(command, "@id", playerId);
        Add(command, "@race", race);
        return await command.ExecuteScalarAsync(cancellationToken) is { } rating and not DBNull
            ? Convert.ToInt32(rating, System.Globalization.CultureInfo.InvariantCulture)
            : Elo.StartRating;
    }

    private static async Task ApplyAsync(
        DbConnection connection, DbTransaction transaction, long playerId, string race, int change, bool win,
        CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, """
            INSERT INTO ratings (player_id, race, rating, games, wins, losses) VALUES (@id, @race, @start + @change, 1, @w, @l)
            ON CONFLICT (player_id, race) DO UPDATE SET
                rating = ratings.rating + @change, games = ratings.games + 1, wins = ratings.wins + @w, losses = ratings.losses + @l;
            """);
        Add(command, "@id", playerId);
        Add(command, "@race", race);
        Add(command, "@start", Elo.StartRating);
        Add(command, "@change", change);
        Add(command, "@w", win ? 1 : 0);
        Add(command, "@l", win ? 0 : 1);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
