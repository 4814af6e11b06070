using Microsoft.Data.Sqlite;

namespace Ladder.Jobs.MultiHost.Tests.Support;

/// <summary>
/// The store a chaos run shares between its nodes, seen from the orchestrator: the arguments that point a node at it,
/// the orchestrator's own queue on it (to enqueue and to read the counts), and the server faults it can inject.
/// </summary>
internal abstract class ChaosStore : IAsyncDisposable
{
    public abstract string Name { get; }

    /// <summary>The store arguments of a node (<c>--sqlite path</c>, <c>--postgres connstr</c>).</summary>
    public abstract IReadOnlyList<string> NodeArguments { get; }

    /// <summary>The store arguments of the node in <paramref name="slot"/> (0-based): a store may run one node differently (a skewed clock).</summary>
    public virtual IReadOnlyList<string> NodeArgumentsFor(int slot) => NodeArguments;

    /// <summary>The orchestrator's queue on the store. It runs no processor, so it never claims nor rescues a job while the nodes run.</summary>
    public abstract JobQueue Queue { get; }

    /// <summary>Faults of the server, each done once mid-run (none for a file).</summary>
    public virtual IReadOnlyList<Disruption> Disruptions => [];

    /// <summary>Whether a failed read of the counts is the store being restarted on purpose (then the orchestrator reads again).</summary>
    public virtual bool IsTransient(Exception exception) => false;

    /// <summary>Processes of the store that must be gone after the run (a server), by a part of their command line.</summary>
    public virtual IReadOnlyList<string> ProcessMarkers => [];

    /// <summary>
    /// The lease expiry of every running job now (job id to Unix ns), as the store holds it: read after a kill, it is
    /// when the killed node's leases run out (the analysis splits the rescue time there). Not public API: each store's table.
    /// </summary>
    public abstract Task<IReadOnlyDictionary<long, long>> ReadLeaseExpiriesAsync(CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();
}

/// <summary>Three processes on one SQLite file.</summary>
internal sealed class SqliteChaosStore : ChaosStore
{
    private readonly string _path;
    private readonly JobQueue _queue;

    public SqliteChaosStore(string path)
    {
        _path = path;
        _queue = JobQueue.Open(new LadderJobsOptions { Path = path });
    }

    public override string Name => "SQLite";

    public override IReadOnlyList<string> NodeArguments => ["--sqlite", _path];

    public override JobQueue Queue => _queue;

    public override async Task<IReadOnlyDictionary<long, long>> ReadLeaseExpiriesAsync(CancellationToken cancellationToken)
    {
        // The store's own table (lease_expires_at in Unix ms of the hosts' clock), read-only beside the nodes.
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = _path, Mode = SqliteOpenMode.ReadOnly }.ToString());
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, lease_expires_at FROM ladder_jobs WHERE state = 2 AND lease_expires_at IS NOT NULL";
        var leases = new Dictionary<long, long>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            leases[reader.GetInt64(0)] = reader.GetInt64(1) * 1_000_000;
        }

        return leases;
    }

    public override ValueTask DisposeAsync() => _queue.DisposeAsync();
}
