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

    /// <summary>
    /// In a worker whose pool is gone: kills every other live process of the group this process leads (what its handlers
    /// started; the pool started it through <c>setsid</c>, so it leads a group of its own). Nothing when it leads none:
    /// started some other way, its group is not its own. Linux only (it reads <c>/proc</c>). Never throws.
    /// </summary>
    /// <returns>How many processes were sent SIGKILL.</returns>
    public static int KillOtherMembersOfOwnGroup()
    {
        var self = Environment.ProcessId;
        if (!OperatingSystem.IsLinux() || SysGetProcessGroup() != self)
        {
            return 0;
        }

        var killed = new HashSet<int>();
        // Again while new ones turn up: a member may fork between the listing and its kill.
        for (var round = 0; round < 3; round++)
        {
            var before = killed.Count;
            foreach (var pid in LiveMembers(self))
            {
                if (killed.Add(pid))
                {
                    _ = SysKill(pid, SigKill);
                }
            }

            if (killed.Count == before)
            {
                break;
            }
        }

        return killed.Count;
    }

    private static List<int> LiveMembers(int group)
    {
        var members = new List<int>();
        try
        {
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pid) || pid == group)
                {
                    continue;
                }

                string stat;
                try
                {
                    stat = File.ReadAllText(Path.Combine(dir, "stat"));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    continue; // Gone meanwhile, or not ours to read.
                }

                // "pid (comm) S ppid pgrp ...": comm may hold spaces and parentheses, so the fields start after the last ')'.
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ', 4);
                if (fields.Length >= 3 && fields[0] is not ("Z" or "X") &&
                    int.TryParse(fields[2], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pgrp) && pgrp == group)
                {
                    members.Add(pid);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No /proc to read: nothing more can be done.
        }

        return members;
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "getpgrp")]
    private static partial int SysGetProcessGroup();
}
