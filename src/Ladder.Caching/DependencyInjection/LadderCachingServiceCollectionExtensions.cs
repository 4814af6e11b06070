using System.Diagnostics.Metrics;
using Ladder.Caching.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Ladder.Caching;

/// <summary>Registers Ladder.Caching in a service collection.</summary>
public static class LadderCachingServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="LadderCache"/> (also as <see cref="IChangePublisher"/>) as a singleton, with validated
    /// options. Calling it again adds more declarations to the same cache; registrations are not duplicated.
    /// Uses the registered <see cref="TimeProvider"/> (default system), <see cref="ILoggerFactory"/>,
    /// <see cref="IMeterFactory"/> and <see cref="IInvalidationBackplane"/> (default <see cref="InProcessBackplane"/>).
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Declares entities and views.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddLadderCaching(this IServiceCollection services, Action<LadderCachingOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<LadderCachingOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LadderCachingOptions>, OptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IInvalidationBackplane, InProcessBackplane>();
        services.TryAddSingleton(static sp => new LadderCache(
            sp.GetRequiredService<IOptions<LadderCachingOptions>>().Value,
            sp.GetService<TimeProvider>(),
            sp.GetService<ILoggerFactory>(),
            sp.GetService<IMeterFactory>(),
            sp.GetService<IInvalidationBackplane>(),
            sp));
        services.TryAddSingleton<IChangePublisher>(static sp => sp.GetRequiredService<LadderCache>());
        return services;
    }

    private sealed class OptionsValidator : IValidateOptions<LadderCachingOptions>
    {
        public ValidateOptionsResult Validate(string? name, LadderCachingOptions options)
        {
            var failures = OptionsValidation.Validate(options);
            return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
        }
    }
}
