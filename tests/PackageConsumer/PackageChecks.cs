using System.IO.Compression;
using System.Text.RegularExpressions;
using System.Xml.Linq;

/// <summary>
/// Opens the packed .nupkg files and checks what a user gets: readme, license, project and repository URLs,
/// dependencies, symbols, and a README whose every link resolves on a package page.
/// </summary>
internal static partial class PackageChecks
{
    private const string ProjectUrl = "https://github.com/ladder-dotnet/ladder";

    // The dependencies each package must declare. A package that forgets one fails here, before a user finds out.
    private static readonly Dictionary<string, string[]> ExpectedDependencies = new()
    {
        ["Ladder.Caching"] = ["Microsoft.Extensions.Caching.Memory", "Microsoft.Extensions.Logging.Abstractions", "Microsoft.Extensions.Options", "Microsoft.Extensions.DependencyInjection.Abstractions"],
        ["Ladder.Jobs"] = ["Cronos", "Microsoft.Data.Sqlite", "Microsoft.Extensions.Logging.Abstractions", "Microsoft.Extensions.Options", "Microsoft.Extensions.DependencyInjection.Abstractions", "Microsoft.Extensions.Hosting.Abstractions", "Microsoft.Extensions.Diagnostics.HealthChecks.Abstractions"],
        ["Ladder.Workers"] = ["Microsoft.Extensions.Logging.Abstractions", "Microsoft.Extensions.Options", "Microsoft.Extensions.DependencyInjection.Abstractions", "Microsoft.Extensions.Hosting.Abstractions"],
        // A PostgreSQL package builds on its core package and Npgsql, and on nothing else of ours.
        ["Ladder.Caching.PostgreSql"] = ["Ladder.Caching", "Npgsql"],
        ["Ladder.Jobs.PostgreSql"] = ["Ladder.Jobs", "Npgsql"],
        // The dashboard builds on Ladder.Jobs and the ASP.NET Core shared framework (a framework reference, not a dependency).
        ["Ladder.Jobs.Dashboard"] = ["Ladder.Jobs"],
    };

    public static void Verify(string packagesFolder, string version, List<string> failures)
    {
        foreach (var (id, expected) in ExpectedDependencies)
        {
            var failuresBefore = failures.Count;
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
            else
            {
                using var symbols = ZipFile.OpenRead(snupkg);
                Check(symbols.GetEntry($"lib/net10.0/{id}.pdb") is not null, $"{id}: the symbols package has no lib/net10.0/{id}.pdb", failures);
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
            Check(metadata.Element(ns + "projectUrl")?.Value == ProjectUrl, $"{id}: nuspec projectUrl is not {ProjectUrl}", failures);
            var repository = metadata.Element(ns + "repository");
            Check((string?)repository?.Attribute("url") == ProjectUrl, $"{id}: nuspec repository url is not {ProjectUrl}", failures);
            Check((string?)repository?.Attribute("type") == "git", $"{id}: nuspec repository type is not git", failures);

            if (zip.GetEntry($"lib/net10.0/{id}.xml") is { } docsEntry)
            {
                using var docs = docsEntry.Open();
                CheckXmlDocsArePublic(id, XDocument.Load(docs), failures);
            }

            if (zip.GetEntry("README.md") is { } readmeEntry)
            {
                using var readme = new StreamReader(readmeEntry.Open());
                CheckReadme(id, readme.ReadToEnd(), failures);
            }

            var dependencies = metadata.Descendants(ns + "dependency").Select(d => (string)d.Attribute("id")!).ToHashSet();
            foreach (var dependency in expected.Where(d => !dependencies.Contains(d)))
            {
                failures.Add($"{id}: nuspec does not declare dependency {dependency}");
            }

            foreach (var dependency in dependencies.Where(d => d.StartsWith("Ladder.", StringComparison.Ordinal) && !expected.Contains(d)))
            {
                failures.Add($"{id}: depends on {dependency}; the packages must stand alone (a PostgreSQL package or the dashboard only on its core package)");
            }

            if (failures.Count > failuresBefore)
            {
                Console.WriteLine($"{id} {version}: package has {failures.Count - failuresBefore} problem(s), listed at the end");
                continue;
            }

            Console.WriteLine($"{id} {version}: package ok ({dependencies.Count} dependencies, readme with absolute links only, license, project and repository URLs, symbols)");
        }
    }

    /// <summary>
    /// The XML documentation file is what a user's IDE shows: it must describe the public API only (issue #13, item
    /// 28). Every documented member's type must be visible outside the assembly, and so must a member of that name.
    /// </summary>
    private static void CheckXmlDocsArePublic(string id, XDocument docs, List<string> failures)
    {
        var assembly = System.Reflection.Assembly.Load(id);
        const System.Reflection.BindingFlags All = System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic |
            System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.DeclaredOnly;
        var internalMembers = new List<string>();
        foreach (var name in docs.Descendants("member").Select(m => (string?)m.Attribute("name") ?? ""))
        {
            if (name.Length < 3 || name[1] != ':')
            {
                continue;
            }

            var body = name[2..];
            var paren = body.IndexOf('(', StringComparison.Ordinal);
            body = paren < 0 ? body : body[..paren];
            string typeName = body, memberName = "";
            if (name[0] != 'T')
            {
                var dot = body.LastIndexOf('.');
                typeName = body[..dot];
                memberName = body[(dot + 1)..];
            }

            // Nested types are written with '.' in doc ids; reflection wants '+'. Try each split from the right.
            var type = assembly.GetType(typeName);
            for (var cut = typeName.LastIndexOf('.'); type is null && cut > 0; cut = typeName.LastIndexOf('.', cut - 1))
            {
                type = assembly.GetType(typeName[..cut] + "+" + typeName[(cut + 1)..].Replace('.', '+'));
            }

            var memberIsPublic = memberName.Length == 0 || memberName.StartsWith("#ctor", StringComparison.Ordinal)
                ? type?.GetConstructors(All).Any(c => c.IsPublic || c.IsFamily || c.IsFamilyOrAssembly) ?? false
                : type?.GetMember(memberName.Split('`')[0].Replace('#', '.'), All).Any(IsVisible) ?? false;
            if (type is null || !type.IsVisible || (memberName.Length > 0 && !memberIsPublic))
            {
                internalMembers.Add(name);
            }
        }

        if (internalMembers.Count > 0)
        {
            failures.Add($"{id}: the XML docs describe {internalMembers.Count} non-public member(s), e.g. {string.Join(", ", internalMembers.Take(3))}");
        }

        static bool IsVisible(System.Reflection.MemberInfo member) => member switch
        {
            System.Reflection.MethodBase m => m.IsPublic || m.IsFamily || m.IsFamilyOrAssembly,
            System.Reflection.FieldInfo f => f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly,
            System.Reflection.PropertyInfo p => p.GetAccessors(true).Any(a => a.IsPublic || a.IsFamily || a.IsFamilyOrAssembly),
            System.Reflection.EventInfo e => e.AddMethod is { } add && (add.IsPublic || add.IsFamily || add.IsFamilyOrAssembly),
            Type t => t.IsVisible,
            _ => false,
        };
    }

    /// <summary>
    /// A package README is read on a package page (nuget.org, an IDE's package browser), away from the repository: a
    /// relative link resolves to nothing there, and a repository path or a test name in the text points at a file
    /// the reader does not have. Every link must be absolute (http or https), and outside links the text names no
    /// repository folder and no test class.
    /// </summary>
    private static void CheckReadme(string id, string readme, List<string> failures)
    {
        var targets = MarkdownLink().Matches(readme).Select(m => m.Groups["target"].Value)
            .Concat(ReferenceDefinition().Matches(readme).Select(m => m.Groups["target"].Value))
            .Concat(HtmlLink().Matches(readme).Select(m => m.Groups["target"].Value));
        foreach (var target in targets.Where(t => !t.StartsWith("https://", StringComparison.Ordinal) && !t.StartsWith("http://", StringComparison.Ordinal)))
        {
            failures.Add($"{id}: README link '{target}' is relative; a package page cannot resolve it (link {ProjectUrl}/blob/main/... instead)");
        }

        var text = AbsoluteUrl().Replace(readme, " ");
        foreach (var path in RepositoryPath().Matches(text).Select(m => m.Value).Distinct())
        {
            failures.Add($"{id}: README names the repository path '{path}', which a package user does not have (link it absolutely)");
        }

        foreach (var test in TestName().Matches(text).Select(m => m.Value).Distinct())
        {
            failures.Add($"{id}: README names the test '{test}', which a package user cannot see (say what is tested, or link the test file absolutely)");
        }
    }

    [GeneratedRegex(@"!?\[[^\]]*\]\(\s*<?(?<target>[^)\s>]*)")]
    private static partial Regex MarkdownLink();

    [GeneratedRegex(@"^\s{0,3}\[[^\]]+\]:\s*<?(?<target>[^\s>]+)", RegexOptions.Multiline)]
    private static partial Regex ReferenceDefinition();

    [GeneratedRegex(@"(?:href|src)\s*=\s*[""'](?<target>[^""']*)[""']", RegexOptions.IgnoreCase)]
    private static partial Regex HtmlLink();

    [GeneratedRegex(@"https?://[^\s)>\]""']+")]
    private static partial Regex AbsoluteUrl();

    [GeneratedRegex(@"(?<![\w./-])(?:docs|tests|src|samples|benchmarks|eng)/[\w./-]*")]
    private static partial Regex RepositoryPath();

    [GeneratedRegex(@"\b[A-Z]\w*Tests\b")]
    private static partial Regex TestName();

    private static void Check(bool condition, string failure, List<string> failures)
    {
        if (!condition)
        {
            failures.Add(failure);
        }
    }
}
