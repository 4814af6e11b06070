using Microsoft.Extensions.Logging;

namespace Ladder.Jobs.Dashboard.Diagnostics;

/// <summary>Every log message of Ladder.Jobs.Dashboard. Event ids 3200-3299.</summary>
internal static partial class Log
{
    [LoggerMessage(3200, LogLevel.Information, "Jobs dashboard: refused {Method} {Path} from {RemoteAddress} (LadderJobsDashboardOptions.Authorize; by default loopback callers only)")]
    public static partial void Refused(ILogger logger, string method, string path, string remoteAddress);

    [LoggerMessage(3201, LogLevel.Warning, "Jobs dashboard: refused an action on {Path}: {Reason}")]
    public static partial void AntiforgeryRefused(ILogger logger, string path, string reason);

    [LoggerMessage(3202, LogLevel.Information, "Jobs dashboard: {Action} job {JobId} by {User} from {RemoteAddress}: {Outcome}")]
    public static partial void JobAction(ILogger logger, string action, long jobId, string user, string remoteAddress, string outcome);

    [LoggerMessage(3203, LogLevel.Information, "Jobs dashboard: purged {Count} {State} jobs older than {OlderThan} by {User} from {RemoteAddress}")]
    public static partial void Purged(ILogger logger, int count, JobState state, TimeSpan olderThan, string user, string remoteAddress);
}
