namespace Ladder.Sample.Domain;

internal sealed record LeaderboardRow(int Rank, long PlayerId, string Name, string Country, string Race, int Rating, int Games, int Wins, int Losses);

internal sealed record LeaderboardPage(int Page, int PageSize, long Total, IReadOnlyList<LeaderboardRow> Rows);

internal sealed partial class LadderDatabase
{
    public const int LeaderboardPageSize = 40;

    /// <summary>One page of the ladder: a row per player and race played, best rating first.</summary>
    public async Task<LeaderboardPage> ReadLeaderboardAsync(
        Race? race, string? country, int page, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        const string Filter = """
            FROM ratings r JOIN players p ON p.id = r.player_id
            WHERE ($race IS NULL OR r.race = $race) AND ($country IS NULL OR p.country = $country)
            """;
        await using var count = Command(connection, null, $"SELECT count(*) {Filter};");
        await using var rows = Command(connection, null, $"""
            SELECT r.player_id, p.name, p.country, r.race, r.rating, r.games, r.wins, r.losses {Filter}
            ORDER BY r.rating DESC, r.games DESC, r.player_id, r.race LIMIT $size OFFSET $offset;
            """);
        foreach (var command in (ReadOnlySpan<Microsoft.Data.Sqlite.SqliteCommand>)[count, rows])
        {
            command.Parameters.AddWithValue("$race", (object?)race?.ToName() ?? DBNull.Value);
            command.Parameters.AddWithValue("$country", (object?)country ?? DBNull.Value);
            command.Parameters.AddWithValue("$size", LeaderboardPageSize);
            command.Parameters.AddWithValue("$offset", (page - 1) * LeaderboardPageSize);
        }

        // One read transaction: the count and the rows come from the same snapshot.
        await using var transaction = connection.BeginTransaction(deferred: true);
        count.Transaction = rows.Transaction = transaction;
        var total = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
        var list = new List<LeaderboardRow>(LeaderboardPageSize);
        await using var reader = await rows.ExecuteReaderAsync(cancellationToken);
        var rank = (page - 1) * LeaderboardPageSize;
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new LeaderboardRow(++rank, reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.GetInt32(4), reader.GetInt32(5), reader.GetInt32(6), reader.GetInt32(7)));
        }

        return new LeaderboardPage(page, LeaderboardPageSize, total, list);
    }
}
