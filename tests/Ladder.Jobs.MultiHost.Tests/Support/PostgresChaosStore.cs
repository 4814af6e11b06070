using System.Globalization;
using Ladder.PostgreSql.Testing;
using Npgsql;

namespace Ladder.Jobs.MultiHost.Tests.Support;

/// <summary>
/// Three processes on one PostgreSQL database of a throwaway server: once mid-run every connection is terminated
/// (<c>pg_terminate_backend</c>), once the server is restarted (<c>pg_ctl restart -m fast</c>). The first node's clock
/// runs ten minutes ahead: leases are timed by the database clock, so it must rescue no live job of the others.
/// </summary>
internal sealed class PostgresChaosStore : ChaosStore
{
    /// <summary>How far the first node's clock runs ahead of the others'.</summary>
    public static readonly TimeSpan ClockAhead = TimeSpan.FromMinutes(10);

    private readonly PostgresServer _server;
    private readonly string _connectionString;
    private readonly JobQueue _queue;

    private PostgresChaosStore(PostgresServer server, string connectionString, JobQueue queue)
    {
        _server = server;
        _connectionString = connectionString;
        _queue = queue;
    }

    public static async Task<PostgresChaosStore> StartAsync(CancellationToken ct)
    {
        var server = await PostgresServer.StartAsync(cancellationToken: ct);
        try
        {
            var connectionString = await server.CreateDatabaseAsync("chaos", ct);

            // The orchestrator's queue runs no processor; its outcome writes are none, its reads are retried by the run.
            var queue = await JobQueue.OpenAsync(new PostgresJobStore(connectionString, new PostgresJobStoreOptions { UseListenNotify = false }), new LadderJobsOptions(), cancellationToken: ct);
            return new PostgresChaosStore(server, connectionString, queue);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    public override string Name => "PostgreSQL";

    public override IReadOnlyList<string> NodeArguments => ["--postgres", _connectionString];

    public override IReadOnlyList<string> NodeArgumentsFor(int slot) => slot == 0
        ? [.. NodeArguments, "--clock-ahead-ms", ((long)ClockAhead.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)]
        : NodeArguments;

    public override JobQueue Queue => _queue;

    /// <summary>The throwaway server (tests that stop and start it).</summary>
    public PostgresServer Server => _server;

    public override IReadOnlyList<Disruption> Disruptions =>
    [
        new("pg_terminate_backend on every connection", 0.35, async ct =>
        {
            var terminated = await _server.TerminateBackendsAsync(cancellationToken: ct);
            return string.Create(CultureInfo.InvariantCulture, $"{terminated} backends terminated");
        }),
        new("pg_ctl restart -m fast", 0.65, async ct =>
        {
            var started = TimeProvider.System.GetTimestamp();
            await _server.RestartAsync("fast", ct);
            return string.Create(CultureInfo.InvariantCulture, $"back after {TimeProvider.System.GetElapsedTime(started).TotalSeconds:F1} s");
        }),
    ];

    public override async Task<IReadOnlyDictionary<long, long>> ReadLeaseExpiriesAsync(CancellationToken cancellationToken)
    {
        // The store's own table (the default schema), timed by the database clock: the server runs on this machine, so
        // its clock is the orchestrator's (the skewed node's clock is its queue's only).
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT id, lease_expires_at FROM ladder_jobs.jobs WHERE state = 2 AND lease_expires_at IS NOT NULL", connection);
        var leases = new Dictionary<long, long>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            leases[reader.GetInt64(0)] = (reader.GetFieldValue<DateTimeOffset>(1) - DateTimeOffset.UnixEpoch).Ticks * 100;
        }

        return leases;
    }

    public override bool IsTransient(Exception exception) => exception is PostgresJobStoreException or NpgsqlException;

    public override IReadOnlyList<string> ProcessMarkers => [_server.Root];

    public override async ValueTask DisposeAsync()
    {
        await _queue.DisposeAsync();
        await _server.DisposeAsync();
    }
}
