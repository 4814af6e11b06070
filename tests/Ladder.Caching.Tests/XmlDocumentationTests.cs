using System.Xml.Linq;

namespace Ladder.Caching.Tests;

/// <summary>What a package user reads in the IDE: the XML documentation file shipped in the package.</summary>
public sealed class XmlDocumentationTests
{
    private static readonly XDocument Docs = XDocument.Load(Path.Combine(AppContext.BaseDirectory, "Ladder.Caching.xml"));

    [Test]
    public void EveryDocumentedMember_HasOneSummary_SoPartialFilesNeverMergeTheirComments()
    {
        var merged = Docs.Descendants("member")
            .Where(m => m.Elements("summary").Count() > 1)
            .Select(m => (string?)m.Attribute("name"))
            .ToList();

        merged.Should().BeEmpty("a doc comment on a second partial declaration is appended to the type's summary");
    }

    [Test]
    public void LadderCacheSummary_DescribesTheCache()
    {
        var summary = Docs.Descendants("member").Single(m => (string?)m.Attribute("name") == "T:Ladder.Caching.LadderCache").Element("summary");

        summary!.Value.Trim().Should().StartWith("The cache:");
    }
}
