using System.Data.Common;

namespace Ladder.Sample.Domain;

/// <summary>
/// A match with both players' names, as the page lists it, and its replay: the one that rated it, or else the latest
/// upload (a match can have several uploads, say a corrupt one and then a good one).
/// </summary>
internal sealed record MatchLine(
    long Id, string Map, string State, string CreatedAt, string? CompletedAt,
    long Player1Id, string Player1Name, string Race1, long Player2Id, string Player2Name, string Race2,
    long? WinnerId, int? Change1, int? Change2, string? Source, string? ReplayHash, long? ReplayJobId);

/// <summary>One rated game of a player: its race, its rating change, and the rating after it (in the order they were rated).</summary>
internal sealed record RatedGame(long MatchId, string CompletedAt, string Race, int Change, int RatingAfter, string OpponentName);

internal sealed record MatchLinePage(long Total, IReadOnlyList<MatchLine> Matches);

internal sealed partial class LadderDatabase
{
    private string MatchLineSelect => $"""
        SELECT m.id, m.map, m.state, m.created_at, m.completed_at, m.player1_id, p1.name, m.race1, m.player2_id, p2.name, m.race2,
            m.winner_id, m.change1, m.change2, m.source, coalesce(m.replay_hash, r.hash), r.job_id
        FROM matches m
        JOIN players p1 ON p1.id = m.player1_id
        JOIN players p2 ON p2.id = m.player2_id
        LEFT JOIN replays r ON r.hash = coalesce(m.replay_hash,
            (SELECT hash FROM replays WHERE match_id = m.id ORDER BY {Dialect.LatestReplayOrder} DESC LIMIT 1))
        """;

    /// <summary>The latest results (completed or aborted matches), newest first.</summary>
    public async Task<IReadOnlyList<MatchLine>> RecentResultsAsync(int count, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"""
            {MatchLineSelect}
            WHERE m.state <> 'created' ORDER BY m.completed_at DESC, m.id DESC LIMIT @count;
            """);
        Add(command, "@count", count);
        return await ReadMatchLinesAsync(command, cancellationToken);
    }

    /// <summary>A page of a player's matches, newest first, with the total.</summary>
    public async Task<MatchLinePage> PlayerMatchesAsync(long playerId, int page, int pageSize, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await BeginReadAsync(connection, cancellationToken);
        await using var count = Command(connection, transaction, "SELECT count(*) FROM matches WHERE player1_id = @id OR player2_id = @id;");
        Add(count, "@id", playerId);
        var total = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
        await using var command = Command(connection, transaction, $"""
            {MatchLineSelect}
            WHERE m.player1_id = @id OR m.player2_id = @id ORDER BY m.id DESC LIMIT @size OFFSET @offset;
            """);
        Add(command, "@id", playerId);
        Add(command, "@size", pageSize);
        Add(command, "@offset", (page - 1) * pageSize);
        return new MatchLinePage(total, await ReadMatchLinesAsync(command, cancellationToken));
    }

    /// <summary>
    /// Every rated game of a player in the order it was rated, with the rating after it per race: each race starts at
    /// <see cref="Elo.StartRating"/> and moves by the recorded changes, so the last point of a race is its rating now
    /// (the changes and the rating are written in one transaction).
    /// </summary>
    public async Task<IReadOnlyList<RatedGame>> RatedGamesAsync(long playerId, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, """
            SELECT m.id, m.completed_at,
                CASE WHEN m.player1_id = @id THEN m.race1 ELSE m.race2 END,
                CASE WHEN m.player1_id = @id THEN m.change1 ELSE m.change2 END,
                o.name
            FROM matches m JOIN players o ON o.id = CASE WHEN m.player1_id = @id THEN m.player2_id ELSE m.player1_id END
            WHERE m.state = 'completed' AND (m.player1_id = @id OR m.player2_id = @id)
            ORDER BY m.completed_at, m.id;
            """);
        Add(command, "@id", playerId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var ratings = new Dictionary<string, int>(StringComparer.Ordinal);
        var games = new List<RatedGame>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var race = reader.GetString(2);
            var change = reader.GetInt32(3);
            var after = ratings[race] = ratings.GetValueOrDefault(race, Elo.StartRating) + change;
            games.Add(new RatedGame(reader.GetInt64(0), reader.GetString(1), race, change, after, reader.GetString(4)));
        }

        return games;
    }

    /// <summary>What each replay is of (its match and players), for readable job labels.</summary>
    public async Task<IReadOnlyDictionary<string, MatchLine>> DescribeReplaysAsync(
        IReadOnlyCollection<string> hashes, CancellationToken cancellationToken = default)
    {
        var found = new Dictionary<string, MatchLine>(StringComparer.Ordinal);
        if (hashes.Count == 0)
        {
            return found;
        }

        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"""
            SELECT rr.hash, m.id, m.map, m.state, m.created_at, m.completed_at, m.player1_id, p1.name, m.race1, m.player2_id, p2.name, m.race2,
                m.winner_id, m.change1, m.change2, m.source, rr.hash, rr.job_id
            FROM replays rr JOIN matches m ON m.id = rr.match_id
            JOIN players p1 ON p1.id = m.player1_id JOIN players p2 ON p2.id = m.player2_id
            WHERE rr.hash {Dialect.HashesIn};
            """);
        Add(command, "@hashes", IsPostgres ? hashes.ToArray() : System.Text.Json.JsonSerializer.Serialize(hashes));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            found[reader.GetString(0)] = ReadMatchLine(reader, 1);
        }

        return found;
    }

    private static async Task<IReadOnlyList<MatchLine>> ReadMatchLinesAsync(DbCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var lines = new List<MatchLine>();
        while (await reader.ReadAsync(cancellationToken))
        {
            lines.Add(ReadMatchLine(reader, 0));
        }

        return lines;
    }

    private static MatchLine ReadMatchLine(DbDataReader r, int at) => new(
        r.GetInt64(at), r.GetString(at + 1), r.GetString(at + 2), r.GetString(at + 3), NullableString(r, at + 4),
        r.GetInt64(at + 5), r.GetString(at + 6), r.GetString(at + 7), r.GetInt64(at + 8), r.GetString(at + 9), r.GetString(at + 10),
        r.IsDBNull(at + 11) ? null : r.GetInt64(at + 11), r.IsDBNull(at + 12) ? null : r.GetInt32(at + 12),
        r.IsDBNull(at + 13) ? null : r.GetInt32(at + 13), NullableString(r, at + 14), NullableString(r, at + 15),
        r.IsDBNull(at + 16) ? null : r.GetInt64(at + 16));

    private static string? NullableString(DbDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : r.GetString(ordinal);
}
