using Microsoft.Extensions.Options;

namespace Ladder.Workers;

/// <summary>Validates <see cref="WorkerPoolOptions"/>, collecting every failure.</summary>
internal sealed class WorkerPoolOptionsValidator : IValidateOptions<WorkerPoolOptions>
{
    public ValidateOptionsResult Validate(string? name, WorkerPoolOptions options)
    {
        var failures = Collect(options);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    public static void ThrowIfInvalid(WorkerPoolOptions options)
    {
        var failures = Collect(options);
        if (failures.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(WorkerPoolOptions), failures);
        }
    }

    public static List<string> Collect(WorkerPoolOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        var f = new List<string>();
        if (string.IsNullOrWhiteSpace(o.WorkerPath))
        {
            f.Add("WorkerPath is required (the worker executable or .dll; UseCurrentExecutable() for the same-exe pattern).");
        }
        else if (o.WorkerPath.IndexOfAny(['/', '\\']) >= 0 && !File.Exists(o.WorkerPath))
        {
            f.Add($"WorkerPath '{o.WorkerPath}' does not exist.");
        }

        Range(f, nameof(o.WorkerCount), o.WorkerCount, 1, 256);
        Range(f, nameof(o.QueueCapacity), o.QueueCapacity, 0, 1_000_000);
        Range(f, nameof(o.MaxFrameBytes), o.MaxFrameBytes, 1024, 1 << 30);
        Range(f, nameof(o.StderrTailLines), o.StderrTailLines, 0, 10_000);
        Range(f, nameof(o.BreakerThreshold), o.BreakerThreshold, 1, 1000);
        Range(f, nameof(o.FallbackConcurrency), o.FallbackConcurrency, 1, 10_000);
        Time(f, nameof(o.DefaultDeadline), o.DefaultDeadline, TimeSpan.FromMilliseconds(1), TimeSpan.FromDays(1));
        if (o.MaxQueueWait != Timeout.InfiniteTimeSpan)
        {
            Time(f, nameof(o.MaxQueueWait), o.MaxQueueWait, TimeSpan.FromMilliseconds(1), TimeSpan.FromDays(1));
        }

        Time(f, nameof(o.CancelGrace), o.CancelGrace, TimeSpan.Zero, TimeSpan.FromMinutes(10));
        Time(f, nameof(o.KillWait), o.KillWait, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(10));
        Time(f, nameof(o.StartupTimeout), o.StartupTimeout, TimeSpan.FromMilliseconds(1), TimeSpan.FromMinutes(10));
        Time(f, nameof(o.ShutdownGrace), o.ShutdownGrace, TimeSpan.Zero, TimeSpan.FromMinutes(10));
        Time(f, nameof(o.BreakerInitialBackoff), o.BreakerInitialBackoff, TimeSpan.FromMilliseconds(1), TimeSpan.FromHours(1));
        Time(f, nameof(o.BreakerMaxBackoff), o.BreakerMaxBackoff, TimeSpan.FromMilliseconds(1), TimeSpan.FromHours(1));
        if (o.BreakerMaxBackoff < o.BreakerInitialBackoff)
        {
            f.Add("BreakerMaxBackoff must not be shorter than BreakerInitialBackoff.");
        }

        if (o.RecycleAfterCalls is < 1)
        {
            f.Add($"RecycleAfterCalls must be at least 1 (or null for never); it is {o.RecycleAfterCalls}.");
        }

        if (o.RecycleAboveWorkingSetBytes is < 1024 * 1024)
        {
            f.Add($"RecycleAboveWorkingSetBytes must be at least 1 MiB (or null for never); it is {o.RecycleAboveWorkingSetBytes}.");
        }

        if (o.HeapHardLimitBytes is < 16 * 1024 * 1024)
        {
            f.Add($"HeapHardLimitBytes must be at least 16 MiB (or null for no cap); it is {o.HeapHardLimitBytes}.");
        }

        if (!Enum.IsDefined(o.QueueFullMode))
        {
            f.Add($"QueueFullMode {o.QueueFullMode} is not defined.");
        }

        if (!Enum.IsDefined(o.TimeoutBehavior))
        {
            f.Add($"TimeoutBehavior {o.TimeoutBehavior} is not defined.");
        }

        return f;
    }

    private static void Range(List<string> f, string name, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            f.Add($"{name} must be between {min} and {max}; it is {value}.");
        }
    }

    private static void Time(List<string> f, string name, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            f.Add($"{name} must be between {min} and {max}; it is {value}.");
        }
    }
}
