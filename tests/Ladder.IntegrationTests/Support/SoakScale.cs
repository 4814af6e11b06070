namespace Ladder.IntegrationTests.Support;

/// <summary>
/// How big the Soak runs are: <c>LADDER_SOAK_SCALE=ci</c> (the bounded CI run, the default) or <c>full</c>.
/// </summary>
public static class SoakScale
{
    public static bool IsFull => string.Equals(Environment.GetEnvironmentVariable("LADDER_SOAK_SCALE"), "full", StringComparison.OrdinalIgnoreCase);

    public static int Pick(int ci, int full) => IsFull ? full : ci;
}
