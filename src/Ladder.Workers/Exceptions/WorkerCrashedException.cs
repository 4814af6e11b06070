namespace Ladder.Workers;

/// <summary>The worker process died during the call (crash, signal, out of memory). The worker has been replaced.</summary>
public sealed class WorkerCrashedException : WorkerException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="operation">The operation, if a call was running.</param>
    /// <param name="processId">The worker.</param>
    /// <param name="exitCode">The exit code, if the exit was observed.</param>
    /// <param name="signal">The signal that ended the process, if any.</param>
    /// <param name="reason">Why the process ended.</param>
    /// <param name="stderrTail">The last lines the worker wrote to stderr.</param>
    public WorkerCrashedException(string? operation, int processId, int? exitCode, int? signal, WorkerExitReason reason, string stderrTail)
        : base(Describe(operation, processId, exitCode, signal, reason, stderrTail))
    {
        Operation = operation;
        ProcessId = processId;
        ExitCode = exitCode;
        Signal = signal;
        Reason = reason;
        StderrTail = stderrTail;
    }

    /// <summary>The exit code, if the exit was observed (128 + n for signal n on Unix).</summary>
    public int? ExitCode { get; }

    /// <summary>The signal that ended the process (6 = SIGABRT, 9 = SIGKILL), if any.</summary>
    public int? Signal { get; }

    /// <summary>Why the process ended.</summary>
    public WorkerExitReason Reason { get; }

    /// <summary>The last lines the worker wrote to stderr (Console.Out is redirected there too).</summary>
    public string StderrTail { get; }

    private static string Describe(string? operation, int pid, int? exitCode, int? signal, WorkerExitReason reason, string tail)
    {
        var what = operation is null ? "Worker" : $"Worker running '{operation}'";
        var how = reason switch
        {
            WorkerExitReason.Signal => $"was ended by signal {signal}",
            WorkerExitReason.OutOfMemory => "ran out of memory",
            WorkerExitReason.ProtocolError => "rejected a frame and exited",
            _ => $"exited with code {exitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown"}",
        };
        var line = ReasonLine(tail);
        var last = line.Length == 0 ? "" : $" Last stderr: {(line.Length > 400 ? line[..400] + "…" : line)}";
        return $"{what} (pid {pid}) {how}.{last}";
    }

    /// <summary>
    /// The line of the tail that says why the process ended: the runtime's own reason line ("Process terminated. …",
    /// "Stack overflow.", "Unhandled exception. …"), else the last line that is not part of a stack trace. The whole tail
    /// stays in <see cref="StderrTail"/>.
    /// </summary>
    private static string ReasonLine(string tail)
    {
        var lines = tail.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        for (var i = lines.Length - 1; i >= 0; i--)
        {
            if (Array.Exists(RuntimeReasons, r => lines[i].StartsWith(r, StringComparison.Ordinal)))
            {
                // The reason may go on over the next lines ("Process terminated." then the FailFast message), up to the stack.
                var end = i + 1;
                while (end < lines.Length && !IsStackLine(lines[end]))
                {
                    end++;
                }

                return string.Join(' ', lines[i..end]);
            }
        }

        for (var i = lines.Length - 1; i >= 0; i--)
        {
            if (!IsStackLine(lines[i]))
            {
                return lines[i];
            }
        }

        return lines.Length == 0 ? "" : lines[^1];
    }

    private static bool IsStackLine(string line) =>
        line.StartsWith("at ", StringComparison.Ordinal) || line.StartsWith("---", StringComparison.Ordinal) || line.StartsWith("Repeat ", StringComparison.Ordinal);

    private static readonly string[] RuntimeReasons = ["Process terminated.", "Stack overflow.", "Unhandled exception.", "Fatal error.", "Out of memory."];
}
