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
    /// In a worker whose pool is gone: how many other live processes are in the group it leads (what its handlers
    /// started). 0 unless this process leads its session and its group, as a worker the pool started through
    /// <c>setsid</c> does: a group leader in a shell's pipeline leads a group of its shell's session, with its siblings in
    /// it. Linux only (it reads <c>/proc</c>). Never throws.
    /// </summary>
    public static int OtherMembersOfOwnGroup()
    {
        var self = Environment.ProcessId;
        return OperatingSystem.IsLinux() && SysGetProcessGroup() == self && SysGetSession(0) == self ? LiveMembers(self).Count : 0;
    }

    /// <summary>SIGKILL to this process's own group, this process included (see <see cref="OtherMembersOfOwnGroup"/>).</summary>
    public static void KillOwnGroup() => _ = SysKill(-Environment.ProcessId, SigKill);

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

    /// <summary>
    /// Ends this process now with <paramref name="exitCode"/>: _exit(2), without the runtime's shutdown (exit handlers,
    /// the finalizer thread) or the C library's. Elsewhere than on Unix, <see cref="Environment.Exit(int)"/>.
    /// </summary>
    public static void ExitNow(int exitCode)
    {
        if (!OperatingSystem.IsWindows())
        {
            SysExit(exitCode);
        }

        Environment.Exit(exitCode);
    }

    [LibraryImport("libc", EntryPoint = "_exit")]
    private static partial void SysExit(int status);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "getpgrp")]
    private static partial int SysGetProcessGroup();

    [LibraryImport("libc", EntryPoint = "getsid")]
    private static partial int SysGetSession(int pid);
}
