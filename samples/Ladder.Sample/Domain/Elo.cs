namespace Ladder.Sample.Domain;

/// <summary>
/// The original ladder's rating rule: Elo with start 1500, K = 40 and a logistic divisor of 500 (not chess's 400),
/// rounded to whole points. The winner gains exactly what the loser loses, so points are conserved.
/// </summary>
internal static class Elo
{
    public const int StartRating = 1500;
    public const int K = 40;
    public const double Divisor = 500;

    /// <summary>The expected score of a player rated <paramref name="rating"/> against <paramref name="opponent"/>.</summary>
    public static double Expected(int rating, int opponent) => 1.0 / (1.0 + Math.Pow(10, (opponent - rating) / Divisor));

    /// <summary>Points the winner gains (and the loser loses); never negative, at most K.</summary>
    public static int Gain(int winnerRating, int loserRating)
        => (int)Math.Round(K * (1.0 - Expected(winnerRating, loserRating)), MidpointRounding.AwayFromZero);
}
