using System.Globalization;

namespace Ladder.Jobs.Dashboard.Internal;

/// <summary>How values are shown: times in UTC (ISO-like, sortable), durations short, states in lower case.</summary>
internal static class Format
{
    public static string StateName(JobState state) => state.ToString().ToLowerInvariant();

    public static bool TryParseState(string? text, out JobState state)
    {
        state = default;
        return !string.IsNullOrEmpty(text) && !char.IsDigit(text[0]) && Enum.TryParse(text, ignoreCase: true, out state) && Enum.IsDefined(state);
    }

    public static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static string IsoTime(DateTimeOffset at) => at.UtcDateTime.ToString("o", CultureInfo.InvariantCulture);

    public static string Duration(TimeSpan span)
    {
        if (span < TimeSpan.Zero)
        {
            return "-" + Duration(-span);
        }

        return span.TotalSeconds < 1 ? $"{span.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)} ms"
            : span.TotalMinutes < 1 ? $"{span.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s"
            : span.TotalHours < 1 ? $"{span.TotalMinutes.ToString("0.0", CultureInfo.InvariantCulture)} min"
            : span.TotalDays < 1 ? $"{span.TotalHours.ToString("0.0", CultureInfo.InvariantCulture)} h"
            : $"{span.TotalDays.ToString("0.0", CultureInfo.InvariantCulture)} d";
    }

    public static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
