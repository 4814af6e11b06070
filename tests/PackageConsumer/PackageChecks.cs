using System.IO.Compression;
using System.Xml.Linq;

/// <summary>Opens the packed .nupkg files and checks what a user gets: readme, license, dependencies, symbols.</summary>
internal static class PackageChecks
{
    // The dependencies each package must declare. A package that forgets one fails here, before a user finds out.
    private static readonly Dictionary<string, string[]> ExpectedDependencies = new()
    {
        ["Ladder.Caching"] = ["Microsoft.Extensions.Caching.Memory", "Microsoft.Extensions.Logging.Abstractions", "Microsoft.Extensions.Options", "Microsoft.Extensions.DependencyInjection.Abstractions"],
        ["Ladder.Jobs"] = ["Microsoft.Data.Sqlite", "Microsoft.Extensions.Logging.Abstractions", "Microsoft.Extensions.Options", "Microsoft.Extensions.DependencyInjection.Abstractions", "Microsoft.Extensions.Hosting.Abstractions", "Microsoft.Extensions.Diagnostics.HealthChecks.Abstractions"],
        ["Ladder.Workers"] = ["Microsoft.Extensions.Logging.Abstractions", "Microsoft.Extensions.Options", "Microsoft.Extensions.DependencyInjection.Abstractions", "Microsoft.Extensions.Hosting.Abstractions"],
    };

    public static void Verify(string packagesFolder, string version, List<string> failures)
    {
        foreach (var (id, expected) in ExpectedDependencies)
        {
            var nupkg = Path.Combine(packagesFolder, $"{id}.{version}.nupkg");
            var snupkg = Path.Combine(packagesFolder, $"{id}.{version}.snupkg");
            if (!File.Exists(nupkg))
            {
                failures.Add($"{nupkg} is missing");
                continue;
            }

            if (!File.Exists(snupkg))
            {
                failures.Add($"{snupkg} (symbols) is missing");
            }

            using var zip = ZipFile.OpenRead(nupkg);
            foreach (var file in new[] { "README.md", "LICENSE", $"lib/net10.0/{id}.dll", $"lib/net10.0/{id}.xml" })
            {
                if (zip.GetEntry(file) is null)
                {
                    failures.Add($"{id}: {file} is not in the package");
                }
            }

            var nuspecEntry = zip.GetEntry($"{id}.nuspec");
            if (nuspecEntry is null)
            {
                failures.Add($"{id}: no nuspec");
                continue;
            }

            using var stream = nuspecEntry.Open();
            var nuspec = XDocument.Load(stream);
            var ns = nuspec.Root!.Name.Namespace;
            var metadata = nuspec.Root.Element(ns + "metadata")!;
            Check(metadata.Element(ns + "readme")?.Value == "README.md", $"{id}: nuspec has no readme", failures);
            Check(metadata.Element(ns + "license")?.Value == "MIT", $"{id}: nuspec license is not MIT", failures);
            Check(!string.IsNullOrWhiteSpace(metadata.Element(ns + "description")?.Value), $"{id}: no description", failures);

            var dependencies = metadata.Descendants(ns + "dependency").Select(d => (string)d.Attribute("id")!).ToHashSet();
            foreach (var dependency in expected.Where(d => !dependencies.Contains(d)))
            {
                failures.Add($"{id}: nuspec does not declare dependency {dependency}");
            }

            foreach (var dependency in dependencies.Where(d => d.StartsWith("Ladder.", StringComparison.Ordinal)))
            {
                failures.Add($"{id}: depends on {dependency}; the packages must stand alone");
            }

            Console.WriteLine($"{id} {version}: package ok ({dependencies.Count} dependencies, readme, license, symbols)");
        }
    }

    private static void Check(bool condition, string failure, List<string> failures)
    {
        if (!condition)
        {
            failures.Add(failure);
        }
    }
}
