using Microsoft.Extensions.Logging;

namespace Ladder.Jobs.Dashboard.Diagnostics;

/// <summary>The schedules page's log messages (event ids 3220-3229).</summary>
internal static partial class Log
{
    [LoggerMessage(3220, LogLevel.Information, "Jobs dashboard: {Action} schedule {Name} by {User} from {RemoteAddress}: {Outcome}")]
    public static partial void ScheduleAction(ILogger logger, string action, string name, string user, string remoteAddress, string outcome);
}
