// A cache node in a process of its own, for the multi-process tests of Ladder.Caching.PostgreSql.
// The database has a table item(id text primary key, version bigint) and a table versions(seq bigint, id text, version bigint).
// Usage: Ladder.Caching.PostgreSql.TestNode <connectionString> <mode> [arguments]
//   reader <readsLog>: a cache with the view "item" (version by id) over the backplane; prints "ready", then reads
//     random items until stdin closes; before each read it notes the backplane's position. Writes one line per read,
//     "<position> <id> <version>", to <readsLog>, then prints "lag <p50 ms> <p99 ms> <reads>" and exits 0.
//   writer <after|outbox> <updates> <items>: updates random items one at a time (version + 1) and publishes each
//     change, after the commit or inside the transaction; records (sequence, id, version) in versions; prints "started"
//     once its backplane has started, and "done".
//   crash-writer <id>: one update of item <id> published inside its transaction, commits, prints "committed <seq>",
//     then waits to be killed (SIGKILL): it never publishes anything after the commit.
using System.Diagnostics.Metrics;
using System.Globalization;
using Ladder.Caching;
using Npgsql;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: Ladder.Caching.PostgreSql.TestNode <connectionString> <reader|writer|crash-writer> [arguments]");
    return 2;
}

await using var dataSource = NpgsqlDataSource.Create(args[0]);
var mode = args[1];
return mode switch
{
    "reader" => await ReaderAsync(dataSource, args[2]),
    "writer" => await WriterAsync(dataSource, args[2] == "outbox", int.Parse(args[3], CultureInfo.InvariantCulture), int.Parse(args[4], CultureInfo.InvariantCulture)),
    "crash-writer" => await CrashWriterAsync(dataSource, args[2]),
    _ => 2,
};

static LadderCache NewCache(NpgsqlDataSource dataSource, PostgresBackplane backplane) => new(
    new LadderCachingOptions { NodeId = $"node-{Environment.ProcessId}" }
        .Entity("item", "version")
        .View<string, long>("item", view => view
            .DependsOn("item", id => id, "version")
            .Load(async (id, ct) =>
            {
                await using var command = dataSource.CreateCommand("SELECT version FROM item WHERE id = $1");
                command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
                return (long)(await command.ExecuteScalarAsync(ct))!;
            })),
    backplane: backplane);

static async Task<int> ReaderAsync(NpgsqlDataSource dataSource, string readsLog)
{
    var lags = new List<double>();
    using var listener = new MeterListener();
    listener.InstrumentPublished = (instrument, l) =>
    {
        if (instrument.Meter.Name == "Ladder.Caching" && instrument.Name == "ladder.caching.backplane.delivery_lag")
        {
            l.EnableMeasurementEvents(instrument);
        }
    };
    listener.SetMeasurementEventCallback<double>((_, value, _, _) =>
    {
        lock (lags)
        {
            lags.Add(value);
        }
    });
    listener.Start();

    await using var backplane = new PostgresBackplane(dataSource, new PostgresBackplaneOptions { PruneInterval = Timeout.InfiniteTimeSpan });
    using var cache = NewCache(dataSource, backplane);
    await backplane.StartAsync();
    var ids = new List<string>();
    await using (var command = dataSource.CreateCommand("SELECT id FROM item ORDER BY id"))
    await using (var reader = await command.ExecuteReaderAsync())
    {
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }
    }

    var view = cache.View<string, long>("item");
    using var stop = new CancellationTokenSource();
    var stdin = Task.Run(async () =>
    {
        while (await Console.In.ReadLineAsync() is not null)
        {
        }

        await stop.CancelAsync();
    });
    Console.WriteLine("ready");
    var reads = new List<(long Position, string Id, long Version)>();
    while (!stop.IsCancellationRequested)
    {
        var id = ids[Random.Shared.Next(ids.Count)];
        // The position first: every row up to it was applied before this read began.
        var position = backplane.Position;
        try
        {
            var version = await view.GetAsync(id);
            reads.Add((position, id, version));
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            // The server restarts under the soak test: that read returned nothing, so there is nothing to check.
        }

        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(1), TimeProvider.System, stop.Token);
        }
        catch (OperationCanceledException)
        {
        }
    }

    await stdin;
    await File.WriteAllLinesAsync(readsLog, reads.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Position} {r.Id} {r.Version}")));
    double[] sorted;
    lock (lags)
    {
        sorted = [.. lags.Order()];
    }

    var p50 = sorted.Length == 0 ? 0 : sorted[(int)(sorted.Length * 0.50)] * 1000;
    var p99 = sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * 0.99))] * 1000;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"lag {p50:F2} {p99:F2} {reads.Count}"));
    return 0;
}

static async Task<int> WriterAsync(NpgsqlDataSource dataSource, bool outbox, int updates, int items)
{
    await using var backplane = new PostgresBackplane(dataSource, new PostgresBackplaneOptions { PruneInterval = Timeout.InfiniteTimeSpan });
    using var cache = NewCache(dataSource, backplane);
    await backplane.StartAsync();
    Console.WriteLine("started");
    for (var i = 0; i < updates; i++)
    {
        var id = $"item-{Random.Shared.Next(items)}";
        try
        {
            await UpdateAndPublishAsync(dataSource, backplane, cache, outbox, id);
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            // The server restarts under the soak test. A bump whose commit was lost in the failure has no
            // versions row: that only leaves a version unchecked, it cannot make a read look stale.
            i--;
        }
    }

    Console.WriteLine("done");
    return 0;
}

static async Task UpdateAndPublishAsync(NpgsqlDataSource dataSource, PostgresBackplane backplane, LadderCache cache, bool outbox, string id)
{
    Change[] changes = [new Change("item", id, "version")];
    await using var connection = await dataSource.OpenConnectionAsync();
    long version;
    long sequence;
    await using (var transaction = await connection.BeginTransactionAsync())
    {
        version = await UpdateAsync(connection, transaction, id);
        if (outbox)
        {
            sequence = await backplane.PublishInTransactionAsync(transaction, changes);
            await RecordAsync(connection, transaction, sequence, id, version);
            await transaction.CommitAsync();
            backplane.ApplyLocally(changes);
            return;
        }

        await transaction.CommitAsync();
    }

    // After the commit: the cache applies it here and sends it; the row's sequence is known once it is written.
    cache.Publish(changes);
    sequence = await backplane.FlushAsync();
    await RecordAsync(connection, null, sequence, id, version);
}

static async Task<int> CrashWriterAsync(NpgsqlDataSource dataSource, string id)
{
    var backplane = new PostgresBackplane(dataSource, new PostgresBackplaneOptions { PruneInterval = Timeout.InfiniteTimeSpan });
    await backplane.StartAsync();
    await using var connection = await dataSource.OpenConnectionAsync();
    await using var transaction = await connection.BeginTransactionAsync();
    var version = await UpdateAsync(connection, transaction, id);
    var sequence = await backplane.PublishInTransactionAsync(transaction, [new Change("item", id, "version")]);
    await RecordAsync(connection, transaction, sequence, id, version);
    await transaction.CommitAsync();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"committed {sequence}"));
    // Killed here with SIGKILL by the test: nothing after the commit runs.
    await Task.Delay(Timeout.InfiniteTimeSpan, TimeProvider.System);
    return 0;
}

static async Task<long> UpdateAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string id)
{
    await using var command = new NpgsqlCommand("UPDATE item SET version = version + 1 WHERE id = $1 RETURNING version", connection, transaction);
    command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
    return (long)(await command.ExecuteScalarAsync())!;
}

static async Task RecordAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, long sequence, string id, long version)
{
    await using var command = new NpgsqlCommand("INSERT INTO versions (seq, id, version) VALUES ($1, $2, $3)", connection, transaction);
    command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = sequence });
    command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
    command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = version });
    await command.ExecuteNonQueryAsync();
}
