using System.Text.Json;
using System.Text.Json.Serialization;
using Cronos;
using Ladder.Jobs.Storage;

namespace Ladder.Jobs;

/// <summary>
/// A schedule's definition as stored (the row's spec: JSON, compared as text) and its tick arithmetic. Every tick is a
/// whole millisecond in UTC, so it round-trips through every store exactly (the fire is a compare-and-set on it).
/// </summary>
internal sealed record ScheduleSpec(
    [property: JsonPropertyName("v")] int V,
    [property: JsonPropertyName("cron")] string? Cron,
    [property: JsonPropertyName("intervalMs")] long? IntervalMs,
    [property: JsonPropertyName("zone")] string Zone,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("payload")] string Payload,
    [property: JsonPropertyName("queue")] string? Queue,
    [property: JsonPropertyName("priority")] int Priority,
    [property: JsonPropertyName("maxAttempts")] int? MaxAttempts,
    [property: JsonPropertyName("timeoutMs")] long? TimeoutMs,
    [property: JsonPropertyName("missed")] MissedTickPolicy Missed)
{
    private const int CurrentVersion = 1;

    private CronExpression? _cron;
    private TimeZoneInfo? _zone;

    public static ScheduleSpec From(JobSchedule schedule)
    {
        var o = schedule.Job.Options;
        return new ScheduleSpec(
            CurrentVersion, schedule.CronExpression, schedule.Interval is { } i ? (long)i.TotalMilliseconds : null, schedule.TimeZone.Id,
            schedule.Job.Kind, schedule.Job.PayloadJson, o.Queue, o.Priority, o.MaxAttempts,
            o.Timeout is { } t && t != Timeout.InfiniteTimeSpan ? (long)t.TotalMilliseconds : null, schedule.MissedTicks)
        {
            _cron = schedule.CronExpression is { } c ? ParseCron(c, out _) : null,
            _zone = schedule.TimeZone,
        };
    }

    public string ToJson() => JsonSerializer.Serialize(this);

    /// <summary>Reads a stored spec, validated where it is read: a row written by a newer version, or by hand, may hold anything.</summary>
    public static ScheduleSpec? Parse(string json, out string? error)
    {
        ScheduleSpec? spec;
        try
        {
            spec = JsonSerializer.Deserialize<ScheduleSpec>(json);
        }
        catch (JsonException e)
        {
            error = "The stored definition is not readable: " + e.Message;
            return null;
        }

        if (spec is null || spec.V != CurrentVersion || string.IsNullOrEmpty(spec.Kind) || spec.Payload is null || spec.Zone is null)
        {
            error = $"The stored definition has an unknown format (version {spec?.V}); a newer Ladder.Jobs may have written it.";
            return null;
        }

        try
        {
            spec._zone = TimeZoneInfo.FindSystemTimeZoneById(spec.Zone);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            error = $"The time zone '{spec.Zone}' is not known on this host.";
            return null;
        }

        if (spec.Cron is { } cron)
        {
            try
            {
                spec._cron = ParseCron(cron, out error);
            }
#pragma warning disable CA1031 // A stored row may hold anything: whatever the parser throws makes it unreadable, never a failed pass.
            catch (Exception e)
#pragma warning restore CA1031
            {
                error = $"The stored cron expression '{cron}' cannot be read: {e.Message}";
                return null;
            }

            return spec._cron is null ? null : spec;
        }

        if (spec.IntervalMs is not { } ms || ms < (long)JobSchedule.MinInterval.TotalMilliseconds || ms > (long)JobSchedule.MaxInterval.TotalMilliseconds)
        {
            error = $"The stored interval is out of range ({spec.IntervalMs} ms).";
            return null;
        }

        error = null;
        return spec;
    }

    private static readonly DateTime NeverBefore = new(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>Parses 5 fields, 6 (seconds first) or a macro (<c>@daily</c>); null and a message naming the problem otherwise.</summary>
    public static CronExpression? ParseCron(string cron, out string? error)
    {
        var fields = cron.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
        if (!cron.StartsWith('@') && fields is not (5 or 6))
        {
            error = $"The cron expression must have 5 fields (minute hour day month weekday) or 6 (seconds first); '{cron}' has {fields}.";
            return null;
        }

        CronExpression expression;
        try
        {
            expression = CronExpression.Parse(cron, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        }
        catch (MissingSeedException)
        {
            // 'H' fields (a hashed minute, say) need a seed per schedule, which no host would agree on.
            error = $"The cron expression '{cron}' is not valid: 'H' (hashed) fields are not supported; name the minute, hour or day.";
            return null;
        }
        catch (CronFormatException e)
        {
            // Cronos names the field and the rule ("Minutes: Value must be a number between 0 and 59 (all inclusive).").
            const string Generic = "The given cron expression has an invalid format.";
            var reason = e.Message.StartsWith(Generic, StringComparison.Ordinal) ? e.Message[Generic.Length..].Trim() : e.Message;
            error = $"The cron expression '{cron}' is not valid: {(reason.Length > 0 ? reason : "unknown format")}";
            return null;
        }

        // No date matches it (day 30 of February, 31 of April): it would be listed active and never fire. Cron has no
        // year, so one with no occurrence after a fixed instant has none after any.
        if (expression.GetNextOccurrence(NeverBefore, inclusive: true) is null)
        {
            error = $"The cron expression '{cron}' matches no date (such as day 30 of February): it would never fire.";
            return null;
        }

        error = null;
        return expression;
    }

    private TimeSpan IntervalSpan => TimeSpan.FromMilliseconds(IntervalMs!.Value);

    /// <summary>The first tick of a new (or changed) schedule: the next cron occurrence after now, or one interval from now.</summary>
    public DateTimeOffset? First(DateTimeOffset now) => _cron is { } cron ? Ms(cron.GetNextOccurrence(now, _zone!, inclusive: false)) : Ms(now) + IntervalSpan;

    /// <summary>The tick after <paramref name="tick"/>.</summary>
    public DateTimeOffset? After(DateTimeOffset tick) => _cron is { } cron ? Ms(cron.GetNextOccurrence(tick, _zone!, inclusive: false)) : tick + IntervalSpan;

    /// <summary>The first tick at or after <paramref name="at"/>; interval ticks stay on the grid of <paramref name="anchor"/> (a past tick).</summary>
    public DateTimeOffset? AtOrAfter(DateTimeOffset at, DateTimeOffset anchor)
    {
        if (_cron is { } cron)
        {
            return Ms(cron.GetNextOccurrence(at, _zone!, inclusive: true));
        }

        if (at <= anchor)
        {
            return anchor;
        }

        var interval = IntervalSpan.Ticks;
        var steps = ((at - anchor).Ticks + interval - 1) / interval;
        return anchor + TimeSpan.FromTicks(steps * interval);
    }

    /// <summary>
    /// What a scheduler does with a due row whose next tick is <paramref name="tick"/>: the tick its job stands for (or
    /// none: skipped) and the row's next tick. A tick at most <paramref name="tolerance"/> late fires as it is; an older
    /// one was missed, and the latest tick due, if it is within the tolerance, fires in the stead of all, or else the
    /// policy decides.
    /// </summary>
    public (DateTimeOffset? JobTick, DateTimeOffset? Next, bool Missed) Decide(DateTimeOffset tick, DateTimeOffset now, TimeSpan tolerance)
    {
        if (now - tick <= tolerance)
        {
            return (tick, After(tick), false);
        }

        var onTime = AtOrAfter(now - tolerance, tick);
        if (onTime is { } t && t <= now)
        {
            // The latest tick due, not the first within the tolerance: every tick after it is ahead of now, so an outage
            // costs one fire whatever the interval. Firing the first, each later one within the tolerance fired pass after
            // pass: a 3 s schedule down 3.5 min enqueued 21 jobs as its scheduler started, with Skip too.
            var latest = LatestAtOrBefore(now, t);
            return (latest, After(latest), true);
        }

        return Missed == MissedTickPolicy.RunOnce ? (tick, onTime, true) : (null, onTime, true);
    }

    // The last tick at or before now, from a tick at or before it: interval ticks by arithmetic on the grid; cron ticks
    // one by one, at most the tolerance's worth of them.
    private DateTimeOffset LatestAtOrBefore(DateTimeOffset now, DateTimeOffset from)
    {
        if (_cron is null)
        {
            var interval = IntervalSpan.Ticks;
            return from + TimeSpan.FromTicks((now - from).Ticks / interval * interval);
        }

        var latest = from;
        while (After(latest) is { } next && next <= now)
        {
            latest = next;
        }

        return latest;
    }

    /// <summary>
    /// What a resume does with a row whose next tick is <paramref name="tick"/>: null when that tick has not passed;
    /// otherwise every tick that passed while paused is missed, whatever the tolerance: the policy's one job (labelled
    /// with the first of them) or none, and the first tick after now (whole milliseconds, as ticks are).
    /// </summary>
    public (DateTimeOffset? JobTick, DateTimeOffset? Next)? AfterPause(DateTimeOffset tick, DateTimeOffset now)
    {
        var at = Ms(now);
        return tick >= at ? null : (Missed == MissedTickPolicy.RunOnce ? tick : null, AtOrAfter(at + TimeSpan.FromMilliseconds(1), tick));
    }

    public NewJob NewJob(string name, DateTimeOffset tick, int defaultMaxAttempts) => new(
        Queue ?? "default", Kind, Payload, Priority, RunAt: null, TimeSpan.Zero, MaxAttempts ?? defaultMaxAttempts,
        TimeoutMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null, UniqueKey(name, tick), TraceParent: null);

    /// <summary>The unique key of a tick's job: the second fence after the row's compare-and-set.</summary>
    public static string UniqueKey(string name, DateTimeOffset tick) =>
        "ladder-schedule:" + name + "@" + tick.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    public ScheduleInfo Info(ScheduleRow row, bool orphaned) => new(
        row.Name, Cron, IntervalMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null, Zone, Kind, Queue ?? "default", Missed,
        row.NextTick, row.LastTick, row.LastJobId, row.Paused, orphaned, row.DeclaredInCode, null);

    private static DateTimeOffset? Ms(DateTimeOffset? value) => value is { } v ? Ms(v) : null;

    private static DateTimeOffset Ms(DateTimeOffset value) =>
        new(value.UtcTicks - value.UtcTicks % TimeSpan.TicksPerMillisecond, TimeSpan.Zero);
}
