using System.IO.Compression;
using System.Xml.Linq;
using Ladder.Caching;
using Npgsql;

/// <summary>
/// Uses Ladder.Caching.PostgreSql through its public API without a database (nothing connects until a cache
/// subscribes or StartAsync is called): options validation, construction, and its package's shape.
/// </summary>
internal static class PostgreSqlUsage
{
    public static async Task RunAsync(string packagesFolder, string version, List<string> failures)
    {
        // The package: readme and symbols, and it builds on Ladder.Caching (the one Ladder dependency it may have) and Npgsql.
        var nupkg = Path.Combine(packagesFolder, $"Ladder.Caching.PostgreSql.{version}.nupkg");
        if (!File.Exists(nupkg) || !File.Exists(Path.ChangeExtension(nupkg, ".snupkg")))
        {
            failures.Add($"{nupkg} or its .snupkg is missing");
        }
        else
        {
            using var zip = ZipFile.OpenRead(nupkg);
            Check(zip.GetEntry("README.md") is not null, "Ladder.Caching.PostgreSql: no README.md in the package", failures);
            using var nuspec = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
            var dependencies = XDocument.Load(nuspec).Descendants().Where(e => e.Name.LocalName == "dependency").Select(e => (string)e.Attribute("id")!).ToHashSet();
            Check(dependencies.SetEquals(["Ladder.Caching", "Npgsql"]), $"Ladder.Caching.PostgreSql: dependencies are {string.Join(", ", dependencies)}", failures);
        }

        try
        {
            _ = new PostgresBackplane(NpgsqlDataSource.Create("Host=127.0.0.1"), new PostgresBackplaneOptions { Schema = "Not Valid", MaxChangesPerRow = 0 });
            failures.Add("PostgresBackplane accepted invalid options");
        }
        catch (PostgresBackplaneConfigurationException e)
        {
            Check(e.Failures.Count == 2, $"expected 2 option failures, got {e.Failures.Count}", failures);
        }

        // Built without connecting; a cache over it would start listening.
        await using var dataSource = NpgsqlDataSource.Create("Host=127.0.0.1;Database=unused");
        await using var backplane = new PostgresBackplane(dataSource, new PostgresBackplaneOptions { Channel = "consumer" });
        Check(backplane.Position == -1, "a backplane that never started has a position", failures);
        Console.WriteLine("Ladder.Caching.PostgreSql: package and API ok");
    }

    private static void Check(bool condition, string failure, List<string> failures)
    {
        if (!condition)
        {
            failures.Add(failure);
        }
    }
}
