using Microsoft.Extensions.Hosting;

namespace Ladder.Workers;

/// <summary>Starts the pool's workers when the host starts (warm before the first call) and stops them when it stops.</summary>
internal sealed class WorkerPoolLifetime(IServiceProvider services) : IHostedService
{
    private WorkerPool? _pool;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Resolving the pool starts its workers in the background; the host does not wait for them.
        _pool = (WorkerPool)services.GetService(typeof(WorkerPool))!;
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_pool is not null)
        {
            await _pool.DisposeAsync().ConfigureAwait(false);
        }
    }
}
