using Ladder.Jobs.Dashboard.Internal;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Ladder.Jobs.Dashboard;

/// <summary>Mounts the Ladder.Jobs dashboard in an ASP.NET Core app.</summary>
public static class LadderJobsDashboardEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Mounts the dashboard of the app's <see cref="JobQueue"/> (resolved from the services) under <paramref name="prefix"/>:
    /// HTML pages, a JSON endpoint per page, and the actions retry, cancel and purge (POST with an anti-forgery token).
    /// <para>
    /// <b>By default only loopback callers are let in</b> (see <see cref="LadderJobsDashboardOptions.Authorize"/>):
    /// every other request gets 403, until you set your own policy.
    /// </para>
    /// </summary>
    /// <param name="endpoints">The app.</param>
    /// <param name="prefix">The path the dashboard is mounted at, a literal path such as <c>/jobs</c>. Default: <c>/jobs</c>.</param>
    /// <param name="configure">Configures the options (authorization, read-only, title, poll interval).</param>
    /// <returns>The endpoints' convention builder, to chain conventions such as <c>.RequireAuthorization(...)</c>.</returns>
    /// <exception cref="ArgumentException"><paramref name="prefix"/> is not a literal path starting with <c>/</c>.</exception>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options are invalid (every failure is listed).</exception>
    /// <exception cref="InvalidOperationException">The dashboard has actions (not <see cref="LadderJobsDashboardOptions.ReadOnly"/>) and the
    /// app has no anti-forgery services: call <c>builder.Services.AddAntiforgery()</c>.</exception>
    public static IEndpointConventionBuilder MapLadderJobsDashboard(
        this IEndpointRouteBuilder endpoints, string prefix = "/jobs", Action<LadderJobsDashboardOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(prefix);
        if (prefix[0] != '/' || prefix.AsSpan().IndexOfAny("{}?#*") >= 0)
        {
            throw new ArgumentException($"The dashboard's prefix must be a literal path starting with '/', such as \"/jobs\"; it is \"{prefix}\".", nameof(prefix));
        }

        var options = new LadderJobsDashboardOptions();
        configure?.Invoke(options);
        options.Validate();
        if (!options.ReadOnly && endpoints.ServiceProvider.GetService<IAntiforgery>() is null)
        {
            throw new InvalidOperationException(
                "The Ladder.Jobs dashboard protects its actions with ASP.NET Core anti-forgery: call builder.Services.AddAntiforgery() "
                + "(or mount it with options.ReadOnly = true).");
        }

        var dashboard = new DashboardApp(options, prefix.TrimEnd('/'), endpoints.ServiceProvider);
        return dashboard.Map(endpoints);
    }
}
