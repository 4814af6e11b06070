using Npgsql;

namespace Ladder.Jobs;

/// <summary>The one-line switch to PostgreSQL: <c>services.AddLadderJobs(o => o.UsePostgres(dataSource))</c>, and enqueue inside a PostgreSQL transaction.</summary>
public static class PostgresJobsExtensions
{
    /// <summary>Keeps the queue's jobs in PostgreSQL, through a data source the application owns (disposed after the queue).</summary>
    /// <param name="options">The queue's options.</param>
    /// <param name="dataSource">Where the database is.</param>
    /// <returns>The options.</returns>
    public static LadderJobsOptions UsePostgres(this LadderJobsOptions options, NpgsqlDataSource dataSource) => options.UsePostgres(dataSource, null);

    /// <summary>Keeps the queue's jobs in PostgreSQL, through a data source the application owns (disposed after the queue).</summary>
    /// <param name="options">The queue's options.</param>
    /// <param name="dataSource">Where the database is.</param>
    /// <param name="configure">Sets the store's options (schema, LISTEN/NOTIFY, debounce, ...); validated with the queue's options.</param>
    /// <returns>The options.</returns>
    public static LadderJobsOptions UsePostgres(this LadderJobsOptions options, NpgsqlDataSource dataSource, Action<PostgresJobStoreOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(dataSource);
        // The store's options are checked with the queue's (one exception for both, at host start through DI).
        return options.UseStore(() => new PostgresJobStore(dataSource, Configure(configure)), () => Configure(configure).Validate());
    }

    /// <summary>Keeps the queue's jobs in PostgreSQL; the store owns a data source built from the connection string.</summary>
    /// <param name="options">The queue's options.</param>
    /// <param name="connectionString">An Npgsql connection string.</param>
    /// <returns>The options.</returns>
    public static LadderJobsOptions UsePostgres(this LadderJobsOptions options, string connectionString) => options.UsePostgres(connectionString, null);

    /// <summary>Keeps the queue's jobs in PostgreSQL; the store owns a data source built from the connection string.</summary>
    /// <param name="options">The queue's options.</param>
    /// <param name="connectionString">An Npgsql connection string.</param>
    /// <param name="configure">Sets the store's options (schema, LISTEN/NOTIFY, debounce, ...); validated with the queue's options.</param>
    /// <returns>The options.</returns>
    public static LadderJobsOptions UsePostgres(this LadderJobsOptions options, string connectionString, Action<PostgresJobStoreOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return options.UseStore(() => new PostgresJobStore(connectionString, Configure(configure)), () => Configure(configure).Validate());
    }

    /// <summary>
    /// Enlists the caller's open PostgreSQL transaction: jobs enqueued through the returned <see cref="JobTransaction"/>
    /// commit or vanish with the caller's own writes, and other hosts are woken (NOTIFY) only by the commit.
    /// Commit through the <see cref="JobTransaction"/>, so this host's processors wake at once too.
    /// </summary>
    /// <param name="queue">A queue whose store is a <see cref="PostgresJobStore"/>.</param>
    /// <param name="transaction">An open transaction on the store's database.</param>
    /// <returns>The enlistment.</returns>
    /// <exception cref="InvalidOperationException">The queue's store is not a <see cref="PostgresJobStore"/>.</exception>
    /// <exception cref="ArgumentException">The transaction has completed, or is on another server or database.</exception>
    public static JobTransaction Enlist(this JobQueue queue, NpgsqlTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(transaction);
        if (queue.Store is not PostgresJobStore store)
        {
            throw new InvalidOperationException(
                $"The job queue's store is {queue.Store.GetType().Name} at {queue.Store.Location}, not a PostgresJobStore: an NpgsqlTransaction cannot enlist in it.");
        }

        return queue.Enlist(store.Enlist(transaction));
    }

    private static PostgresJobStoreOptions Configure(Action<PostgresJobStoreOptions>? configure)
    {
        var options = new PostgresJobStoreOptions();
        configure?.Invoke(options);
        return options;
    }
}
