using Ladder.Sample.Domain;

namespace Ladder.IntegrationTests.Domain;

[TestFixture]
public sealed class DomainRuleTests
{
    [TestCase(1500, 1500, 20)]
    [TestCase(1700, 1500, 11)]
    [TestCase(1500, 1700, 29)]
    [TestCase(3000, 1000, 0)]
    public void EloGain_UsesK40AndDivisor500WithIntegerRounding(int winner, int loser, int expected)
    {
        Elo.Gain(winner, loser).Should().Be(expected);
    }

    [TestCase("Flash", true)]
    [TestCase("  Jaedong ", true)]
    [TestCase("이제동", true)]
    [TestCase("x", false)]
    [TestCase("two  spaces", false)]
    [TestCase("<script>", false)]
    [TestCase("a-name-that-is-far-too-long-for-the-ladder", false)]
    public void PlayerName_AcceptsOnlyReadableNames(string text, bool valid)
    {
        PlayerName.TryNormalize(text, out _, out var error).Should().Be(valid, error);
    }

    [TestCase("kr", true)]
    [TestCase("DE", true)]
    [TestCase("XX", false)]
    [TestCase("USA", false)]
    public void Country_IsAnIso3166Alpha2Code(string text, bool valid)
    {
        Countries.TryNormalize(text, out _).Should().Be(valid);
    }
}
