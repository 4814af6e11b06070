namespace Ladder.Sample.Domain;

/// <summary>The three StarCraft races. Stored and sent as lower-case names.</summary>
internal enum Race
{
    Terran = 1,
    Protoss = 2,
    Zerg = 3,
}

internal static class Races
{
    public static readonly Race[] All = [Race.Terran, Race.Protoss, Race.Zerg];

    public static string ToName(this Race race) => race switch
    {
        Race.Terran => "terran",
        Race.Protoss => "protoss",
        Race.Zerg => "zerg",
        _ => throw new ArgumentOutOfRangeException(nameof(race), race, "Not a race."),
    };

    public static bool TryParse(string? text, out Race race)
    {
        switch (text?.Trim().ToUpperInvariant())
        {
            case "TERRAN" or "T": race = Race.Terran; return true;
            case "PROTOSS" or "P": race = Race.Protoss; return true;
            case "ZERG" or "Z": race = Race.Zerg; return true;
            default: race = default; return false;
        }
    }
}
