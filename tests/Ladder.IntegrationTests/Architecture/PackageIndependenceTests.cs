using System.Reflection;

namespace Ladder.IntegrationTests.Architecture;

/// <summary>
/// The three packages never reference each other (DESIGN.md): only the sample host and these tests compose them.
/// </summary>
[TestFixture]
public sealed class PackageIndependenceTests
{
    private static readonly string[] LadderLibraries = ["Ladder.Caching", "Ladder.Jobs", "Ladder.Workers"];

    [TestCaseSource(nameof(LadderLibraries))]
    public void Library_ReferencesNoOtherLadderLibrary(string name)
    {
        var assembly = Assembly.Load(name);

        var ladderReferences = assembly.GetReferencedAssemblies()
            .Select(static r => r.Name)
            .Where(static r => r is not null && r.StartsWith("Ladder.", StringComparison.Ordinal))
            .ToList();

        ladderReferences.Should().BeEmpty($"{name} must stand alone as a package");
    }

    [TestCaseSource(nameof(LadderLibraries))]
    public void Library_TargetsNet10(string name)
    {
        var assembly = Assembly.Load(name);

        var framework = assembly.GetCustomAttribute<System.Runtime.Versioning.TargetFrameworkAttribute>();

        framework.Should().NotBeNull();
        framework!.FrameworkName.Should().Be(".NETCoreApp,Version=v10.0");
    }
}
