using Microsoft.Extensions.Logging;

namespace Ladder.Jobs.Testing.Contract;

/// <summary>
/// The base of every contract fixture: a <see cref="JobStoreFactory"/> per test (from <see cref="CreateFactory"/>, the
/// one member a store's subclass gives), and queues opened over its stores. Queues a test leaves open are disposed
/// after it, then the factory.
/// </summary>
public abstract class JobStoreContract
{
    private readonly List<JobQueue> _queues = [];
    private JobStoreFactory? _factory;

    /// <summary>The factory of the current test.</summary>
    protected JobStoreFactory Factory => _factory ?? throw new InvalidOperationException("The factory is made before each test.");

    /// <summary>Makes the factory of the stores the fixture runs against; called once per test.</summary>
    /// <returns>A new factory.</returns>
    protected abstract JobStoreFactory CreateFactory();

    /// <summary>Makes the test's factory.</summary>
    [SetUp]
    public void CreateStoreFactory()
    {
        _queues.Clear();
        _factory = CreateFactory();
    }

    /// <summary>Disposes the queues the test left open (harmless twice), then the factory.</summary>
    /// <returns>A task that completes once everything is disposed.</returns>
    [TearDown]
    public async Task DisposeStoreFactoryAsync()
    {
        foreach (var queue in _queues)
        {
            await queue.DisposeAsync();
        }

        _queues.Clear();
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
            _factory = null;
        }
    }

    /// <summary>The options of the suite: a long poll (a quick result proves a wake-up, not a poll), no retry delay, a short shutdown grace.</summary>
    /// <param name="configure">Changes for the test.</param>
    /// <returns>The options, without a store setting (the store is given to the queue).</returns>
    protected static LadderJobsOptions Options(Action<LadderJobsOptions>? configure = null)
    {
        var options = new LadderJobsOptions
        {
            PollInterval = TimeSpan.FromSeconds(30),
            ShutdownGrace = TimeSpan.FromSeconds(2),
            RetryBaseDelay = TimeSpan.Zero,
            RetryMaxDelay = TimeSpan.Zero,
        };
        configure?.Invoke(options);
        return options;
    }

    /// <summary>Opens a queue over a new store of the factory.</summary>
    /// <param name="configure">Changes to <see cref="Options"/>.</param>
    /// <param name="time">The clock of the queue and its store. Default: <see cref="TimeProvider.System"/>.</param>
    /// <param name="loggerFactory">Logging. Default: none.</param>
    /// <returns>The open queue; the test disposes it (or the fixture does, after the test).</returns>
    protected async Task<JobQueue> OpenAsync(Action<LadderJobsOptions>? configure = null, TimeProvider? time = null, ILoggerFactory? loggerFactory = null)
    {
        time ??= TimeProvider.System;
        return await OpenOverAsync(await Factory.CreateAsync(time), configure, time, loggerFactory);
    }

    /// <summary>Opens a queue with <paramref name="options"/> (from <see cref="Options"/>) over a new store of the factory.</summary>
    /// <param name="options">The options, without a store setting; the queue copies them.</param>
    /// <param name="time">The clock of the queue and its store. Default: <see cref="TimeProvider.System"/>.</param>
    /// <param name="loggerFactory">Logging. Default: none.</param>
    /// <returns>The open queue.</returns>
    protected async Task<JobQueue> OpenAsync(LadderJobsOptions options, TimeProvider? time = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        time ??= TimeProvider.System;
        var queue = await JobQueue.OpenAsync(await Factory.CreateAsync(time), options, time, loggerFactory);
        _queues.Add(queue);
        return queue;
    }

    /// <summary>Opens a second queue on the location of <paramref name="queue"/>'s store: another host sharing its jobs.</summary>
    /// <param name="queue">A queue opened by this fixture (open or already disposed).</param>
    /// <param name="configure">Changes to <see cref="Options"/>.</param>
    /// <param name="time">The clock of the new queue and its store. Default: <see cref="TimeProvider.System"/>.</param>
    /// <param name="loggerFactory">Logging. Default: none.</param>
    /// <returns>The open queue.</returns>
    protected async Task<JobQueue> OpenSiblingAsync(JobQueue queue, Action<LadderJobsOptions>? configure = null, TimeProvider? time = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(queue);
        time ??= TimeProvider.System;
        return await OpenOverAsync(await Factory.CreateSiblingAsync(queue.Store, time), configure, time, loggerFactory);
    }

    private async Task<JobQueue> OpenOverAsync(JobStore store, Action<LadderJobsOptions>? configure, TimeProvider time, ILoggerFactory? loggerFactory)
    {
        var queue = await JobQueue.OpenAsync(store, Options(configure), time, loggerFactory);
        _queues.Add(queue);
        return queue;
    }
}
