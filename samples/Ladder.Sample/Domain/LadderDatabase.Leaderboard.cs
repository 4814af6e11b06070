using System.Data.Common;

namespace Ladder.Sample.Domain;

/// <summary>A leaderboard row: one player in one race. <see cref="Rank"/> is by rating within the race and country filter.</summary>
internal sealed record LeaderboardRow(int Rank, long PlayerId, string Name, string Country, string Race, int Rating, int Games, int Wins, int Losses);

internal sealed record LeaderboardPage(int Page, int PageSize, long Total, IReadOnlyList<LeaderboardRow> Rows);

/// <summary>The columns the leaderboard sorts by.</summary>
internal enum LeaderboardSort
{
    Rank,
    Name,
    Country,
    Race,
    Rating,
    Games,
    Wins,
}

/// <summary>Which rows, in which order: the race and country filters, a name search, a sort column and direction.</summary>
internal readonly record struct LeaderboardQuery(
    Race? Race, string? Country, string? Search, LeaderboardSort Sort = LeaderboardSort.Rank, bool Descending = false);

internal sealed partial class LadderDatabase
{
    public const int LeaderboardPageSize = 40;

    /// <summary>One page of the ladder: a row per player and race played, best rating first.</summary>
    public Task<LeaderboardPage> ReadLeaderboardAsync(Race? race, string? country, int page, CancellationToken cancellationToken = default)
        => ReadLeaderboardAsync(new LeaderboardQuery(race, country, null), page, cancellationToken);

    /// <summary>
    /// One page of the ladder for <paramref name="query"/>. The rank is computed before the name search, so a search
    /// shows each row's real place; ties in the sort column keep rank order.
    /// </summary>
    public async Task<LeaderboardPage> ReadLeaderboardAsync(LeaderboardQuery query, int page, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        const string Ranked = """
            WITH ranked AS (
                SELECT r.player_id, p.name, p.country, r.race, r.rating, r.games, r.wins, r.losses,
                    row_number() OVER (ORDER BY r.rating DESC, r.games DESC, r.player_id, r.race) AS rank
                FROM ratings r JOIN players p ON p.id = r.player_id
                WHERE (@race IS NULL OR r.race = @race) AND (@country IS NULL OR p.country = @country))
            """;
        var search = $@"WHERE (@search IS NULL OR name {Dialect.NameLike} '%' || @search || '%' ESCAPE '\')";
        await using var count = Command(connection, null, $"{Ranked} SELECT count(*) FROM ranked {search};");
        await using var rows = Command(connection, null, $"""
            {Ranked}
            SELECT player_id, name, country, race, rating, games, wins, losses, rank FROM ranked {search}
            ORDER BY {OrderBy(query.Sort, query.Descending, Dialect)}, rank LIMIT @size OFFSET @offset;
            """);
        foreach (var command in (ReadOnlySpan<DbCommand>)[count, rows])
        {
            Add(command, "@race", (object?)query.Race?.ToName() ?? DBNull.Value);
            Add(command, "@country", (object?)query.Country ?? DBNull.Value);
            Add(command, "@search", query.Search is { Length: > 0 } s ? EscapeLike(s) : DBNull.Value);
            Add(command, "@size", LeaderboardPageSize);
            Add(command, "@offset", (page - 1) * LeaderboardPageSize);
        }

        // One read transaction: the count and the rows come from the same snapshot.
        await using var transaction = await BeginReadAsync(connection, cancellationToken);
        count.Transaction = rows.Transaction = transaction;
        var total = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
        var list = new List<LeaderboardRow>(LeaderboardPageSize);
        await using var reader = await rows.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new LeaderboardRow(reader.GetInt32(8), reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.GetInt32(4), reader.GetInt32(5), reader.GetInt32(6), reader.GetInt32(7)));
        }

        return new LeaderboardPage(page, LeaderboardPageSize, total, list);
    }

    // Only these fixed fragments reach the SQL text; the user's choice picks one, it is never pasted in.
    private static string OrderBy(LeaderboardSort sort, bool descending, LadderDialect dialect)
    {
        var column = sort switch
        {
            LeaderboardSort.Rank => "rank",
            LeaderboardSort.Name => dialect.NameOrder,
            LeaderboardSort.Country => "country",
            LeaderboardSort.Race => "race",
            LeaderboardSort.Rating => "rating",
            LeaderboardSort.Games => "games",
            LeaderboardSort.Wins => "wins",
            _ => throw new ArgumentOutOfRangeException(nameof(sort), sort, "Not a leaderboard column."),
        };
        return descending ? column + " DESC" : column;
    }

    // A search for "a_b" or "50%" means those characters, not LIKE's wildcards.
    private static string EscapeLike(string text)
        => text.Replace(@"\", @"\\", StringComparison.Ordinal).Replace("%", @"\%", StringComparison.Ordinal).Replace("_", @"\_", StringComparison.Ordinal);
}
