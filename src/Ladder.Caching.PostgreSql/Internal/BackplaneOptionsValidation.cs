namespace Ladder.Caching.PostgreSql.Internal;

/// <summary>Collects every problem in <see cref="PostgresBackplaneOptions"/>, so start-up lists them all at once.</summary>
internal static class BackplaneOptionsValidation
{
    // Timers cannot be due later than uint.MaxValue - 1 ms (about 49.7 days).
    private static readonly TimeSpan MaxTimer = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    public static IReadOnlyList<string> Validate(PostgresBackplaneOptions options)
    {
        var failures = new List<string>();
        Identifier(nameof(options.Schema), options.Schema, failures);
        Identifier(nameof(options.Table), options.Table, failures);
        Identifier(nameof(options.Channel), options.Channel, failures);
        if (string.IsNullOrWhiteSpace(options.ListenerApplicationName) || options.ListenerApplicationName.Length > 63)
        {
            failures.Add($"ListenerApplicationName must be 1 to 63 characters (was '{options.ListenerApplicationName}').");
        }

        Delay(nameof(options.PublishWindow), options.PublishWindow, allowZero: true, failures);
        Delay(nameof(options.ReconnectMinDelay), options.ReconnectMinDelay, allowZero: false, failures);
        Delay(nameof(options.ReconnectMaxDelay), options.ReconnectMaxDelay, allowZero: false, failures);
        Delay(nameof(options.HoleRecheckInterval), options.HoleRecheckInterval, allowZero: false, failures);
        Delay(nameof(options.ShutdownTimeout), options.ShutdownTimeout, allowZero: true, failures);
        if (options.PruneInterval != Timeout.InfiniteTimeSpan)
        {
            Delay(nameof(options.PruneInterval), options.PruneInterval, allowZero: false, failures);
        }

        if (options.ListenerProbeInterval != Timeout.InfiniteTimeSpan)
        {
            Delay(nameof(options.ListenerProbeInterval), options.ListenerProbeInterval, allowZero: false, failures);
        }

        Delay(nameof(options.ListenerProbeTimeout), options.ListenerProbeTimeout, allowZero: false, failures);
        if (options.ReconnectMaxDelay < options.ReconnectMinDelay)
        {
            failures.Add($"ReconnectMaxDelay ({options.ReconnectMaxDelay}) must not be less than ReconnectMinDelay ({options.ReconnectMinDelay}).");
        }

        if (options.RetentionAge <= TimeSpan.Zero)
        {
            failures.Add($"RetentionAge must be positive (was {options.RetentionAge}).");
        }

        if (options.RetentionMaxRows <= 0)
        {
            failures.Add($"RetentionMaxRows must be positive (was {options.RetentionMaxRows}).");
        }

        Positive(nameof(options.MaxChangesPerRow), options.MaxChangesPerRow, failures);
        Positive(nameof(options.CatchUpBatchSize), options.CatchUpBatchSize, failures);
        Positive(nameof(options.PruneBatchSize), options.PruneBatchSize, failures);
        if (options.MaxPayloadBytes is < 0 or > 7000)
        {
            failures.Add($"MaxPayloadBytes must be between 0 and 7000, well under NOTIFY's 8000-byte limit (was {options.MaxPayloadBytes}).");
        }

        return failures;
    }

    private static void Identifier(string name, string? value, List<string> failures)
    {
        // Plain lower-case identifiers only: they are spliced into SQL (quoted), and NOTIFY channel names are folded.
        if (string.IsNullOrEmpty(value) || value.Length > 50 || !(value[0] is >= 'a' and <= 'z' or '_')
            || !value.All(static c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '_'))
        {
            failures.Add($"{name} must be a lower-case SQL identifier of at most 50 characters (letters, digits, '_'; was '{value}').");
        }
    }

    private static void Delay(string name, TimeSpan value, bool allowZero, List<string> failures)
    {
        if (value < TimeSpan.Zero || (!allowZero && value == TimeSpan.Zero) || value > MaxTimer)
        {
            failures.Add($"{name} must be {(allowZero ? "zero or positive" : "positive")} and under 49 days (was {value}).");
        }
    }

    private static void Positive(string name, long value, List<string> failures)
    {
        if (value <= 0)
        {
            failures.Add($"{name} must be positive (was {value}).");
        }
    }
}
