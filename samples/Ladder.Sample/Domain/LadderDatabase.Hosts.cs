using System.Data.Common;

namespace Ladder.Sample.Domain;

/// <summary>
/// A host's row in <c>ladder_hosts</c>: written by its heartbeat, read by every host's cluster panel.
/// <see cref="Status"/> is the host's own JSON (<c>ClusterHostStatus</c>): its pool and the jobs it is running.
/// </summary>
internal sealed record HostRow(string Name, string Url, int ProcessId, string StartedAt, string SeenAt, string Status);

internal sealed partial class LadderDatabase
{
    public async Task UpsertHostAsync(HostRow host, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, """
            INSERT INTO ladder_hosts (name, url, process_id, started_at, seen_at, status)
            VALUES (@name, @url, @pid, @started, @seen, @status)
            ON CONFLICT (name) DO UPDATE SET url = excluded.url, process_id = excluded.process_id,
                started_at = excluded.started_at, seen_at = excluded.seen_at, status = excluded.status;
            """);
        Add(command, "@name", host.Name);
        Add(command, "@url", host.Url);
        Add(command, "@pid", host.ProcessId);
        Add(command, "@started", host.StartedAt);
        Add(command, "@seen", host.SeenAt);
        Add(command, "@status", host.Status);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task RemoveHostAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "DELETE FROM ladder_hosts WHERE name = @name;");
        Add(command, "@name", name);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The hosts seen since <paramref name="since"/> (ISO-8601), by name.</summary>
    public async Task<IReadOnlyList<HostRow>> ListHostsAsync(string since, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, """
            SELECT name, url, process_id, started_at, seen_at, status FROM ladder_hosts WHERE seen_at >= @since ORDER BY name;
            """);
        Add(command, "@since", since);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var hosts = new List<HostRow>();
        while (await reader.ReadAsync(cancellationToken))
        {
            hosts.Add(ReadHost(reader));
        }

        return hosts;
    }

    private static HostRow ReadHost(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetString(3), r.GetString(4), r.GetString(5));
}
