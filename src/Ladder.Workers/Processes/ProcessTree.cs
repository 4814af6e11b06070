using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Ladder.Workers.Processes;

/// <summary>
/// Starting a worker in its own process group and killing that whole group. On Linux the worker is started through
/// <c>setsid</c> (which execs in place: same pid, new session, pgid = pid), so everything it spawns shares its
/// group and one <c>kill(-pgid, SIGKILL)</c> takes the tree without walking /proc. Elsewhere, or without
/// <c>setsid</c>, <see cref="Process.Kill(bool)"/> walks the tree.
/// </summary>
internal static partial class ProcessTree
{
    private const int SigKill = 9;

    /// <summary>The setsid binary, when process groups are used.</summary>
    public static readonly string? SetsidPath = OperatingSystem.IsLinux() ? FindSetsid() : null;

    public static bool UsesProcessGroups => SetsidPath is not null;

    /// <summary>For tests: called with the group id before each group kill is sent.</summary>
    internal static Action<int>? GroupKillProbe { get; set; }

    /// <summary>Kills the worker's group (or tree). Never throws.</summary>
    public static void Kill(Process process, int processGroup)
    {
        if (processGroup > 0 && UsesProcessGroups)
        {
            // Negative pid = the whole group, grandchildren included; ESRCH (already gone) is fine.
            GroupKillProbe?.Invoke(processGroup);
            _ = SysKill(-processGroup, SigKill);
            return;
        }

        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Exiting as we speak.
        }
    }

    private static string? FindSetsid()
    {
        foreach (var candidate in new[] { "/usr/bin/setsid", "/bin/setsid", "/usr/local/bin/setsid" })
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int signal);
}
