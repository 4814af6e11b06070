using Ladder.Jobs.Dashboard.Diagnostics;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Ladder.Jobs.Dashboard.Internal;

/// <summary>The routes, and the checks every request passes first: authorization, then (for actions) read-only and anti-forgery.</summary>
internal sealed partial class DashboardApp
{
    /// <summary>
    /// Pages and JSON: they carry anti-forgery tokens and live data, so no browser or proxy keeps them (no-cache for
    /// caches that ignore no-store).
    /// </summary>
    private const string NoCacheNoStore = "no-cache, no-store";

    public IEndpointConventionBuilder Map(IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup(Prefix.Length == 0 ? "/" : Prefix);

        // On the group, so no endpoint added here (or later, such as a schedules page) can be reached without it.
        // First: even a refusal or a failed action is never kept by a cache; an asset overrides it. The one place pages,
        // JSON and answers get their Cache-Control.
        group.AddEndpointFilter(static (invocation, next) =>
        {
            invocation.HttpContext.Response.Headers.CacheControl = NoCacheNoStore;
            return next(invocation);
        });
        group.AddEndpointFilter(AuthorizeAsync);
        group.ExcludeFromDescription();

        group.MapGet("/", (Func<HttpContext, Task<IResult>>)OverviewPageAsync);
        group.MapGet("/jobs", (Func<HttpContext, Task<IResult>>)JobListPageAsync);
        group.MapGet("/jobs/{id:long}", (Func<HttpContext, long, Task<IResult>>)JobPageAsync);
        group.MapGet("/jobs/{id}", (Func<HttpContext, string, IResult>)NotAJobIdPage).WithOrder(1);
        group.MapGet("/keys", (Func<HttpContext, Task<IResult>>)KeysPageAsync);

        group.MapGet("/api/overview", (Func<HttpContext, Task<IResult>>)OverviewJsonAsync);
        group.MapGet("/api/jobs", (Func<HttpContext, Task<IResult>>)JobListJsonAsync);
        group.MapGet("/api/jobs/{id:long}", (Func<HttpContext, long, Task<IResult>>)JobJsonAsync);
        group.MapGet("/api/jobs/{id}", (Func<string, IResult>)NotAJobIdJson).WithOrder(1);
        group.MapGet("/api/keys", (Func<HttpContext, Task<IResult>>)KeysJsonAsync);

        group.MapGet("/assets/{name}", static (HttpContext context, string name) => ServeAsset(context, name));

        var actions = group.MapGroup("/");
        actions.AddEndpointFilter(CheckActionAsync);
        actions.MapPost("/jobs/{id:long}/retry", (Func<HttpContext, long, Task<IResult>>)RetryAsync);
        actions.MapPost("/jobs/{id:long}/cancel", (Func<HttpContext, long, Task<IResult>>)CancelAsync);
        actions.MapPost("/purge", (Func<HttpContext, Task<IResult>>)PurgeAsync);
        MapSchedules(group, actions);
        return group;
    }

    private async ValueTask<object?> AuthorizeAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        if (!await Options.Authorize(context).ConfigureAwait(false))
        {
            // Says nothing about the policy to the caller; the log says who was refused, for the operator.
            Log.Refused(Logger, context.Request.Method, context.Request.Path.ToString(), context.Connection.RemoteIpAddress?.ToString() ?? "(no address)");
            return Results.Text("This dashboard is not open to this caller.", "text/plain; charset=utf-8", statusCode: StatusCodes.Status403Forbidden);
        }

        return await next(invocation).ConfigureAwait(false);
    }

    private async ValueTask<object?> CheckActionAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        if (Options.ReadOnly)
        {
            return Results.Text("This dashboard is read-only.", "text/plain; charset=utf-8", statusCode: StatusCodes.Status403Forbidden);
        }

        try
        {
            // The token pair: the cookie set when the page was rendered, and the form field of that page.
            await context.RequestServices.GetRequiredService<IAntiforgery>().ValidateRequestAsync(context).ConfigureAwait(false);
        }
        catch (AntiforgeryValidationException e)
        {
            Log.AntiforgeryRefused(Logger, context.Request.Path.ToString(), e.Message);
            return Results.Text("The form's anti-forgery token is missing or invalid: reload the page and try again.", "text/plain; charset=utf-8", statusCode: StatusCodes.Status400BadRequest);
        }

        return await next(invocation).ConfigureAwait(false);
    }

    private static IResult ServeAsset(HttpContext context, string name)
    {
        if (Assets.Find(name) is not { } asset)
        {
            return Results.NotFound();
        }

        // Linked with ?v=<content hash>: a new build links a new URL, so the browser may keep this one for good.
        context.Response.Headers.CacheControl = context.Request.Query["v"] == asset.Version ? "public, max-age=31536000, immutable" : "no-cache";
        context.Response.Headers.XContentTypeOptions = "nosniff";
        return Results.Bytes(asset.Bytes, asset.ContentType);
    }
}
