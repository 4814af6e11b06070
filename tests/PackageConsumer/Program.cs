// A user's program that references the three Ladder packages by version from the local artifacts folder.
// It exercises each package's public entry point; any failure exits non-zero and fails .ci/run.
using System.Reflection;

// The same-exe worker pattern: this program is also Ladder.Workers' worker when started with the worker switch.
if (await WorkersUsage.RunWorkerIfAskedAsync(args) is { } workerExit)
{
    return workerExit;
}

var failures = new List<string>();
var packagesFolder = args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, "../../../../../artifacts/packages");
var packageVersion = args.Length > 1 ? args[1] : "0.1.0";

PackageChecks.Verify(packagesFolder, packageVersion, failures);

foreach (var name in new[] { "Ladder.Caching", "Ladder.Caching.PostgreSql", "Ladder.Jobs", "Ladder.Jobs.PostgreSql", "Ladder.Workers" })
{
    var assembly = Assembly.Load(name);
    var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
    Console.WriteLine($"{name} {version} loaded");
}

await CachingUsage.RunAsync(failures);
await PostgreSqlUsage.RunAsync(failures);
await JobsUsage.RunAsync(failures);
await JobsPostgreSqlUsage.RunAsync(failures);
await WorkersUsage.RunAsync(failures);

return failures.Count == 0 ? 0 : Fail(failures);

static int Fail(List<string> failures)
{
    foreach (var f in failures)
    {
        Console.Error.WriteLine($"FAIL: {f}");
    }

    return 1;
}
