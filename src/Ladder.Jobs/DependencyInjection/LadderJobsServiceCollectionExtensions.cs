using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ladder.Jobs;

/// <summary>Registers Ladder.Jobs in a service collection.</summary>
public static class LadderJobsServiceCollectionExtensions
{
    /// <summary>
    /// Registers the <see cref="JobQueue"/> (singleton, opened on first use), the <see cref="JobProcessor"/> as a
    /// hosted service, a <see cref="JobQueueHealthCheck"/>, and validated <see cref="LadderJobsOptions"/> (every failure
    /// listed at start-up). Idempotent: a second call adds its configuration and returns the same handler registry.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Configures the options (at least <see cref="LadderJobsOptions.Path"/>, or a store with <see cref="LadderJobsOptions.UseStore(Func{Storage.JobStore})"/>).</param>
    /// <returns>A builder to register handlers.</returns>
    public static LadderJobsBuilder AddLadderJobs(this IServiceCollection services, Action<LadderJobsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<LadderJobsOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LadderJobsOptions>, LadderJobsOptionsValidator>());

        var registry = services.FirstOrDefault(d => d.ServiceType == typeof(JobHandlerRegistry))?.ImplementationInstance as JobHandlerRegistry;
        if (registry is null)
        {
            registry = new JobHandlerRegistry();
            services.AddSingleton(registry);
        }

        services.TryAddSingleton(sp => JobQueue.Open(
            sp.GetRequiredService<IOptions<LadderJobsOptions>>().Value,
            sp.GetService<TimeProvider>(),
            sp.GetService<ILoggerFactory>()));
        services.TryAddSingleton(sp => new JobProcessor(sp.GetRequiredService<JobQueue>(), sp.GetRequiredService<JobHandlerRegistry>(), sp));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, JobProcessor>(sp => sp.GetRequiredService<JobProcessor>()));
        services.TryAddSingleton<JobQueueHealthCheck>();
        return new LadderJobsBuilder(services, registry);
    }
}

/// <summary>Registers job handlers after <see cref="LadderJobsServiceCollectionExtensions.AddLadderJobs"/>.</summary>
public sealed class LadderJobsBuilder
{
    internal LadderJobsBuilder(IServiceCollection services, JobHandlerRegistry registry)
    {
        Services = services;
        Registry = registry;
    }

    /// <summary>The services.</summary>
    public IServiceCollection Services { get; }

    /// <summary>The handler registry the processor uses.</summary>
    public JobHandlerRegistry Registry { get; }

    /// <summary>Registers <typeparamref name="THandler"/> (scoped) for the kind of <typeparamref name="TArgs"/>.</summary>
    /// <typeparam name="TArgs">The argument type.</typeparam>
    /// <typeparam name="THandler">The handler.</typeparam>
    /// <returns>This builder.</returns>
    public LadderJobsBuilder AddHandler<TArgs, THandler>()
        where THandler : class, IJobHandler<TArgs>
    {
        Services.TryAddScoped<THandler>();
        Registry.Add<TArgs, THandler>();
        return this;
    }

    /// <summary>Registers a delegate for the kind of <typeparamref name="TArgs"/>. Use <see cref="JobContext.Services"/> for scoped services.</summary>
    /// <typeparam name="TArgs">The argument type.</typeparam>
    /// <param name="handler">Runs one attempt.</param>
    /// <returns>This builder.</returns>
    public LadderJobsBuilder AddHandler<TArgs>(Func<TArgs, JobContext, CancellationToken, Task> handler)
    {
        Registry.Add(handler);
        return this;
    }
}

/// <summary>Validates <see cref="LadderJobsOptions"/>, listing every failure.</summary>
internal sealed class LadderJobsOptionsValidator : IValidateOptions<LadderJobsOptions>
{
    public ValidateOptionsResult Validate(string? name, LadderJobsOptions options)
    {
        var failures = options.Validate();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
