using Ladder.Sample.Domain;
using Ladder.Sample.Replays;

namespace Ladder.IntegrationTests.Replays;

[TestFixture]
public sealed class ReplayFormatTests
{
    private static readonly ReplaySpec Spec = new(
        42, new ReplayPlayer(7, "Flash", Race.Terran), new ReplayPlayer(9, "Jaedong", Race.Zerg), WinnerIndex: 1, Seed: 3);

    [Test]
    public void Parse_OfAGeneratedReplay_ReturnsWhatTheGeneratorWrote()
    {
        var summary = ReplayParser.Parse(ReplayGenerator.Create(Spec));

        summary.MatchId.Should().Be(42);
        summary.Map.Should().Be("Fighting Spirit");
        summary.Players.Should().Equal(Spec.Player1, Spec.Player2);
        summary.WinnerId.Should().Be(9);
        summary.Events.Should().BeGreaterThan(200);
        summary.Actions.Sum().Should().BeGreaterThan(199);
    }

    [Test]
    public void Create_WithDifferentSeeds_WritesDifferentFiles()
    {
        ReplayGenerator.Create(Spec).Should().NotEqual(ReplayGenerator.Create(Spec with { Seed = 4 }));
    }

    [Test]
    public void Parse_OfASlowReplay_ExpandsItsRepeatsAndStaysValid()
    {
        var summary = ReplayParser.Parse(ReplayGenerator.CreateSlow(Spec, depth: 12));

        summary.Events.Should().BeGreaterThan(1 << 12);
    }

    [Test]
    public void Parse_OfAFlippedByte_ThrowsATypedFormatError()
    {
        var act = () => ReplayParser.Parse(ReplayGenerator.Corrupt(ReplayGenerator.Create(Spec)));

        act.Should().Throw<ReplayFormatException>()
            .Where(e => e.Error == ReplayError.BadCompression || e.Error == ReplayError.ChecksumMismatch || e.Error == ReplayError.LengthMismatch);
    }

    [Test]
    public void Parse_OfATruncatedFile_ThrowsATypedFormatError()
    {
        var valid = ReplayGenerator.Create(Spec);

        var act = () => ReplayParser.Parse(valid.AsSpan(0, valid.Length - 40));

        act.Should().Throw<ReplayFormatException>().Which.Message.Should().NotBeNullOrWhiteSpace();
    }

    [TestCase(new byte[] { 1, 2, 3 }, "TooShort")]
    [TestCase(new byte[] { (byte)'P', (byte)'K', 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, "BadMagic")]
    [TestCase(new byte[] { (byte)'L', (byte)'D', (byte)'R', (byte)'P', 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, "UnsupportedVersion")]
    public void Parse_OfSomethingElse_SaysWhatIsWrong(byte[] file, string expected)
    {
        var act = () => ReplayParser.Parse(file);

        act.Should().Throw<ReplayFormatException>().Which.Error.ToString().Should().Be(expected);
    }
}
