using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Ladder.Caching;

/// <summary>Registers the PostgreSQL backplane for the cache that <c>AddLadderCaching</c> registers.</summary>
public static class PostgresBackplaneServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="PostgresBackplane"/> as a singleton over <paramref name="dataSource"/> and makes it the
    /// cache's <see cref="IInvalidationBackplane"/> (replacing the in-process default, before or after
    /// <c>AddLadderCaching</c>). Options are validated at start. Uses the registered <see cref="TimeProvider"/>,
    /// <see cref="ILoggerFactory"/> and <see cref="IMeterFactory"/>. Calling it again changes nothing but the options.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="dataSource">Gives the data source of the database holding the change log (not disposed by the backplane).</param>
    /// <param name="configure">Changes the options, or <see langword="null"/>.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection UsePostgresBackplane(this IServiceCollection services, Func<IServiceProvider, NpgsqlDataSource> dataSource, Action<PostgresBackplaneOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(dataSource);
        var options = services.AddOptions<PostgresBackplaneOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgresBackplaneOptions>, OptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new PostgresBackplane(
            dataSource(sp),
            sp.GetRequiredService<IOptions<PostgresBackplaneOptions>>().Value,
            sp.GetService<TimeProvider>(),
            sp.GetService<ILoggerFactory>(),
            sp.GetService<IMeterFactory>()));
        services.RemoveAll<IInvalidationBackplane>();
        services.AddSingleton<IInvalidationBackplane>(static sp => sp.GetRequiredService<PostgresBackplane>());
        return services;
    }

    /// <summary>Registers the backplane over a data source instance, with the default options (see the first overload).</summary>
    /// <param name="services">The services.</param>
    /// <param name="dataSource">The data source of the database holding the change log (not disposed by the backplane).</param>
    /// <returns>The services.</returns>
    public static IServiceCollection UsePostgresBackplane(this IServiceCollection services, NpgsqlDataSource dataSource) =>
        services.UsePostgresBackplane(dataSource, null);

    /// <summary>Registers the backplane over a data source instance (see the first overload).</summary>
    /// <param name="services">The services.</param>
    /// <param name="dataSource">The data source of the database holding the change log (not disposed by the backplane).</param>
    /// <param name="configure">Changes the options, or <see langword="null"/>.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection UsePostgresBackplane(this IServiceCollection services, NpgsqlDataSource dataSource, Action<PostgresBackplaneOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        return services.UsePostgresBackplane(_ => dataSource, configure);
    }

    private sealed class OptionsValidator : IValidateOptions<PostgresBackplaneOptions>
    {
        public ValidateOptionsResult Validate(string? name, PostgresBackplaneOptions options)
        {
            var failures = options.Validate();
            return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
        }
    }
}
