using Microsoft.Extensions.Options;

namespace Ladder.Sample.Hosting;

/// <summary>The sample's settings: section "Ladder" of appsettings.json, environment (Ladder__X) or command line.</summary>
internal sealed partial class LadderOptions
{
    public const string Section = "Ladder";

    /// <summary>
    /// Where to listen: one http URL, or several separated by ';' (the host is localhost, an IP address or *).
    /// <c>--urls</c> sets it too; when neither is given, ASP.NET Core's own setting (<c>ASPNETCORE_URLS</c>) is used.
    /// Default <see cref="ListenAddresses.Default"/>.
    /// </summary>
    public string? Urls { get; set; }

    /// <summary>Listen on <c>http://127.0.0.1:N</c> instead of <see cref="Urls"/> (0 picks a free port). <c>--port N</c> sets it.</summary>
    public int? Port { get; set; }

    /// <summary>Folder for ladder.db. Relative paths are taken from the current directory. Default: data/ beside the app.</summary>
    public string? DataPath { get; set; }

    /// <summary>
    /// A PostgreSQL connection string (Npgsql's keywords: <c>Host=...;Port=...;Database=...;Username=...</c>). When set,
    /// the ladder's tables, the job queue and the cache backplane all live in that database, so several hosts can share
    /// one ladder (cluster mode); <see cref="DataPath"/> is then unused. <c>--postgres "..."</c> sets it. Default: none
    /// (a SQLite file).
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// How often this host writes its row in the <c>ladder_hosts</c> table (the page's cluster panel lists the hosts
    /// seen within three intervals). Default 2 s.
    /// </summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Seed demo players, matches and a few replays when the database is empty. Default true.</summary>
    public bool DemoData { get; set; } = true;

    /// <summary>Run the job processor. False accepts uploads but parses nothing (used by the crash tests). Default true.</summary>
    public bool ProcessJobs { get; set; } = true;

    /// <summary>How long one parse may run in a worker before the worker is killed. Default 2.5 s (the original's).</summary>
    public TimeSpan ParseDeadline { get; set; } = TimeSpan.FromSeconds(2.5);

    /// <summary>Attempts of a parse job before it is dead-lettered (a timeout or a worker crash is retried). Default 3.</summary>
    public int ParseMaxAttempts { get; set; } = 3;

    /// <summary>First retry delay of a failed parse job (doubles per attempt, with jitter). Default 2 s.</summary>
    public TimeSpan ParseRetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Parser worker processes. Default 2.</summary>
    public int WorkerCount { get; set; } = 2;

    /// <summary>Hard heap cap of each parser worker, in MiB. Default 192.</summary>
    public int WorkerMemoryLimitMb { get; set; } = 192;

    /// <summary>Parse jobs run at once. Default 2.</summary>
    public int JobConcurrency { get; set; } = 2;

    /// <summary>
    /// How long a claimed job is leased (heartbeats renew it). After a crash its jobs go back to the queue once
    /// their lease expires. Default 30 s.
    /// </summary>
    public TimeSpan JobLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Largest accepted replay upload, in bytes. Default 1 MiB.</summary>
    public int MaxReplayBytes { get; set; } = 1 << 20;

    public string ResolveDataPath() => Path.GetFullPath(string.IsNullOrWhiteSpace(DataPath)
        ? Path.Combine(AppContext.BaseDirectory, "data")
        : DataPath);

    internal sealed class Validator : IValidateOptions<LadderOptions>
    {
        public ValidateOptionsResult Validate(string? name, LadderOptions options)
        {
            var failures = new List<string>();
            if (options.Port is < 0 or > 65535)
            {
                failures.Add($"Ladder:Port must be 0 to 65535; it is {options.Port}.");
            }
            else if (options.Port is null)
            {
                ListenAddresses.TryParse(options.Urls ?? ListenAddresses.Default, failures, out _);
            }

            if (options.ParseDeadline <= TimeSpan.Zero || options.ParseDeadline > TimeSpan.FromMinutes(5))
            {
                failures.Add($"Ladder:ParseDeadline must be between 0 and 5 minutes; it is {options.ParseDeadline}.");
            }

            if (options.ParseMaxAttempts is < 1 or > 20)
            {
                failures.Add($"Ladder:ParseMaxAttempts must be 1 to 20; it is {options.ParseMaxAttempts}.");
            }

            if (options.ParseRetryDelay < TimeSpan.Zero || options.ParseRetryDelay > TimeSpan.FromHours(1))
            {
                failures.Add($"Ladder:ParseRetryDelay must be between 0 and 1 hour; it is {options.ParseRetryDelay}.");
            }

            if (options.WorkerCount is < 1 or > 32)
            {
                failures.Add($"Ladder:WorkerCount must be 1 to 32; it is {options.WorkerCount}.");
            }

            if (options.WorkerMemoryLimitMb is < 32 or > 16_384)
            {
                failures.Add($"Ladder:WorkerMemoryLimitMb must be 32 to 16384; it is {options.WorkerMemoryLimitMb}.");
            }

            if (options.JobConcurrency is < 1 or > 64)
            {
                failures.Add($"Ladder:JobConcurrency must be 1 to 64; it is {options.JobConcurrency}.");
            }

            if (options.JobLease < TimeSpan.FromSeconds(1) || options.JobLease > TimeSpan.FromHours(1))
            {
                failures.Add($"Ladder:JobLease must be between 1 s and 1 hour; it is {options.JobLease}.");
            }

            if (!string.IsNullOrWhiteSpace(options.ConnectionString))
            {
                try
                {
                    _ = new Npgsql.NpgsqlConnectionStringBuilder(options.ConnectionString);
                }
                catch (ArgumentException e)
                {
                    failures.Add($"Ladder:ConnectionString is not a PostgreSQL connection string: {e.Message}");
                }
            }

            if (options.HeartbeatInterval < TimeSpan.FromMilliseconds(100) || options.HeartbeatInterval > TimeSpan.FromMinutes(10))
            {
                failures.Add($"Ladder:HeartbeatInterval must be between 100 ms and 10 minutes; it is {options.HeartbeatInterval}.");
            }

            if (options.MaxReplayBytes is < 1024 or > 64 << 20)
            {
                failures.Add($"Ladder:MaxReplayBytes must be 1 KiB to 64 MiB; it is {options.MaxReplayBytes}.");
            }

            return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
        }
    }
}
