using Ladder.Jobs.Dashboard.Pages;
using Microsoft.AspNetCore.Http;

namespace Ladder.Jobs.Dashboard.Internal;

/// <summary>The concurrency keys page and its JSON twin.</summary>
internal sealed partial class DashboardApp
{
    private async Task<IResult> KeysPageAsync(HttpContext context)
    {
        var queue = Queue(context);
        var keys = await queue.GetConcurrencyKeysAsync(ConcurrencyKeysPage.MaxKeys, context.RequestAborted).ConfigureAwait(false);
        var rates = await queue.GetRateLimitsAsync(context.RequestAborted).ConfigureAwait(false);
        return Layout.Page(this, context, "keys", "Concurrency keys", html => ConcurrencyKeysPage.Render(html, keys, rates), poll: true);
    }

    private async Task<IResult> KeysJsonAsync(HttpContext context)
    {
        var queue = Queue(context);
        var keys = await queue.GetConcurrencyKeysAsync(ConcurrencyKeysPage.MaxKeys, context.RequestAborted).ConfigureAwait(false);
        var rates = await queue.GetRateLimitsAsync(context.RequestAborted).ConfigureAwait(false);
        return Results.Json(
            new
            {
                keys = keys.Select(static k => new { key = k.Key, limit = k.Limit, running = k.Running, waiting = k.Waiting }),
                rateLimits = rates.Select(static r => new { scope = r.Scope == RateLimitScope.Queue ? "queue" : "key", name = r.Name, maxStarts = r.MaxStarts, windowMs = (long)r.Window.TotalMilliseconds }),
            },
            Json);
    }
}
