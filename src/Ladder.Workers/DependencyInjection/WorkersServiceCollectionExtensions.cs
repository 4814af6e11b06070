using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ladder.Workers;

/// <summary>Registers Ladder.Workers in a service collection.</summary>
public static class WorkersServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="WorkerPool"/> with validated <see cref="WorkerPoolOptions"/> (checked at
    /// start-up), and a hosted service that starts the workers with the host and stops them with it. Idempotent:
    /// calling it again only adds the configuration.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Configures the pool (at least <see cref="WorkerPoolOptions.WorkerPath"/>).</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddLadderWorkers(this IServiceCollection services, Action<WorkerPoolOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<WorkerPoolOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WorkerPoolOptions>, WorkerPoolOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(static sp => new WorkerPool(
            sp.GetRequiredService<IOptions<WorkerPoolOptions>>().Value,
            sp.GetService<ILogger<WorkerPool>>(),
            sp.GetService<TimeProvider>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, WorkerPoolLifetime>());
        return services;
    }
}
