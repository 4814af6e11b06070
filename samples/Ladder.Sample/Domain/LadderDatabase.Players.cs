using System.Text.Json;
using System.Data.Common;

namespace Ladder.Sample.Domain;

internal sealed record Player(long Id, string Name, string Country, Preferences Preferences);

internal sealed record RaceRating(string Race, int Rating, int Games, int Wins, int Losses);

/// <summary>What a player update changed: the fields a cache needs to hear about.</summary>
internal sealed record PlayerUpdate(Player Player, IReadOnlyList<string> ChangedFields);

internal sealed partial class LadderDatabase
{
    private static readonly JsonSerializerOptions PreferencesJson = new(JsonSerializerDefaults.Web);

    public async Task<Player> CreatePlayerAsync(string name, string country, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, """
            INSERT INTO players (name, country, preferences, created_at) VALUES (@name, @country, @preferences, @now)
            ON CONFLICT DO NOTHING
            RETURNING id;
            """);
        Add(command, "@name", name);
        Add(command, "@country", country);
        Add(command, "@preferences", JsonSerializer.Serialize(Preferences.Default, PreferencesJson));
        Add(command, "@now", Now());
        var id = await command.ExecuteScalarAsync(cancellationToken)
            ?? throw LadderProblemException.Conflict($"The display name '{name}' is taken.");
        return new Player((long)id, name, country, Preferences.Default);
    }

    public async Task<Player?> TryGetPlayerAsync(long id, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await TryGetPlayerAsync(connection, null, id, cancellationToken);
    }

    private static async Task<Player?> TryGetPlayerAsync(
        DbConnection connection, DbTransaction? transaction, long id, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, "SELECT name, country, preferences FROM players WHERE id = @id;");
        Add(command, "@id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        var preferences = JsonSerializer.Deserialize<Preferences>(reader.GetString(2), PreferencesJson) ?? Preferences.Default;
        return new Player(id, reader.GetString(0), reader.GetString(1), preferences);
    }

    /// <summary>Changes name and/or country; reports only the fields whose value really changed.</summary>
    public async Task<PlayerUpdate> UpdatePlayerAsync(
        long id, string? name, string? country, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var player = await TryGetPlayerAsync(connection, transaction, id, cancellationToken)
            ?? throw LadderProblemException.NotFound($"There is no player {id}.");
        var changed = new List<string>(2);
        if (name is not null && !string.Equals(name, player.Name, StringComparison.Ordinal))
        {
            changed.Add("name");
        }

        if (country is not null && !string.Equals(country, player.Country, StringComparison.Ordinal))
        {
            changed.Add("country");
        }

        if (changed.Count == 0)
        {
            return new PlayerUpdate(player, changed);
        }

        var updated = player with { Name = name ?? player.Name, Country = country ?? player.Country };
        await using var command = Command(connection, transaction, "UPDATE players SET name = @name, country = @country WHERE id = @id;");
        Add(command, "@id", id);
        Add(command, "@name", updated.Name);
        Add(command, "@country", updated.Country);
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (DbException e) when (IsUniqueViolation(e))
        {
            throw LadderProblemException.Conflict($"The display name '{updated.Name}' is taken.");
        }

        await transaction.CommitAsync(cancellationToken);
        return new PlayerUpdate(updated, changed);
    }

    public async Task<Player> UpdatePreferencesAsync(long id, Preferences preferences, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "UPDATE players SET preferences = @preferences WHERE id = @id;");
        Add(command, "@id", id);
        Add(command, "@preferences", JsonSerializer.Serialize(preferences, PreferencesJson));
        if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
        {
            throw LadderProblemException.NotFound($"There is no player {id}.");
        }

        return (await TryGetPlayerAsync(connection, null, id, cancellationToken))!;
    }

    public async Task<IReadOnlyList<RaceRating>> GetRatingsAsync(long playerId, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, """
            SELECT race, rating, games, wins, losses FROM ratings WHERE player_id = @id ORDER BY rating DESC, race;
            """);
        Add(command, "@id", playerId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var ratings = new List<RaceRating>(3);
        while (await reader.ReadAsync(cancellationToken))
        {
            ratings.Add(new RaceRating(reader.GetString(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetInt32(3), reader.GetInt32(4)));
        }

        return ratings;
    }

    public async Task<long> CountPlayersAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT count(*) FROM players;");
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}

internal sealed partial class LadderDatabase
{
    public async Task<IReadOnlyList<string>> ListCountriesAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT DISTINCT country FROM players ORDER BY country;");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var countries = new List<string>();
        while (await reader.ReadAsync(cancellationToken))
        {
            countries.Add(reader.GetString(0));
        }

        return countries;
    }
}
