namespace Ladder.Workers.Processes;

/// <summary>Finds the <c>dotnet</c> host used to start a worker given as a framework-dependent .dll.</summary>
internal static class DotnetHost
{
    private static readonly Lazy<string> Path_ = new(Find);

    public static string Path => Path_.Value;

    private static string Find()
    {
        var exe = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        var current = Environment.ProcessPath;
        if (current is not null && string.Equals(System.IO.Path.GetFileName(current), exe, StringComparison.OrdinalIgnoreCase))
        {
            return current;
        }

        foreach (var variable in new[] { "DOTNET_HOST_PATH" })
        {
            var value = Environment.GetEnvironmentVariable(variable);
            if (!string.IsNullOrEmpty(value) && File.Exists(value))
            {
                return value;
            }
        }

        foreach (var root in new[] { Environment.GetEnvironmentVariable("DOTNET_ROOT"), System.IO.Path.GetDirectoryName(typeof(object).Assembly.Location) is { } fx ? System.IO.Path.GetFullPath(System.IO.Path.Combine(fx, "../../..")) : null })
        {
            if (!string.IsNullOrEmpty(root) && File.Exists(System.IO.Path.Combine(root, exe)))
            {
                return System.IO.Path.Combine(root, exe);
            }
        }

        return exe;
    }
}
