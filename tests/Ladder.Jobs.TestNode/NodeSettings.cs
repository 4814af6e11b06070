using System.Globalization;

namespace Ladder.Jobs.TestNode;

/// <summary>The node's command line: the store, its name and log, and the processor's intervals.</summary>
internal sealed record NodeSettings(
    string? SqlitePath,
    string? PostgresConnectionString,
    string Host,
    string LogPath,
    TimeSpan Lease,
    TimeSpan Heartbeat,
    TimeSpan Rescue,
    TimeSpan Poll,
    int Concurrency,
    int Prefetch,
    TimeSpan Work,
    int MaxRescues,
    TimeSpan ClockAhead,
    TimeSpan OpenRetry)
{
    /// <exception cref="ArgumentException">An option is missing, unknown or not a number.</exception>
    public static NodeSettings Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"expected '--name value' pairs, found '{args[i]}'");
            }

            values[args[i][2..]] = args[i + 1];
        }

        string? Take(string name) => values.Remove(name, out var value) ? value : null;
        string Required(string name) => Take(name) ?? throw new ArgumentException($"--{name} is required");
        int Number(string name, int fallback) => Take(name) is { } text
            ? int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw new ArgumentException($"--{name}: '{text}' is not a number")
            : fallback;
        TimeSpan Millis(string name, int fallback) => TimeSpan.FromMilliseconds(Number(name, fallback));

        var settings = new NodeSettings(
            Take("sqlite"),
            Take("postgres"),
            Required("host"),
            Required("log"),
            Millis("lease-ms", 5000),
            Millis("heartbeat-ms", 1000),
            Millis("rescue-ms", 500),
            Millis("poll-ms", 200),
            Number("concurrency", 4),
            Number("prefetch", 8),
            Millis("work-ms", 5),
            Number("max-rescues", 1000),
            Millis("clock-ahead-ms", 0),
            Millis("open-retry-ms", 60_000));
        if ((settings.SqlitePath is null) == (settings.PostgresConnectionString is null))
        {
            throw new ArgumentException("name one store: --sqlite <path> or --postgres <connectionString>");
        }

        if (values.Count > 0)
        {
            throw new ArgumentException($"unknown option --{values.Keys.First()}");
        }

        return settings;
    }

    /// <summary>The one line that picks the store, as in a user's configuration.</summary>
    public void ConfigureStore(LadderJobsOptions options)
    {
        if (SqlitePath is not null)
        {
            options.Path = SqlitePath;
            return;
        }

        // A well-written host on PostgreSQL: started while the server is down or restarting, it waits for it (with
        // backoff, bounded) instead of dying; outcomes ride out a restart for as long as a lease.
        options.UsePostgres(PostgresConnectionString!, o => o.OpenRetryLimit = OpenRetry);
    }
}
