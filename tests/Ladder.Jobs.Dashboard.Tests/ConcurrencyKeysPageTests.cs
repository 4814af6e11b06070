using System.Text.Json;
using Ladder.Jobs.Dashboard.Tests.Support;
using Ladder.Jobs.Storage;

namespace Ladder.Jobs.Dashboard.Tests;

/// <summary>The concurrency keys page (issue #14): keys in use with their limit, running and waiting jobs, and the rate limits, from the store.</summary>
[TestFixture]
public sealed class ConcurrencyKeysPageTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task KeysPage_ListsKeysInUse_WithLimitRunningAndWaiting_AndTheRateLimits(CancellationToken ct)
    {
        await using var host = await DashboardHost.StartAsync();
        foreach (var (key, count) in new[] { ("player:<42>", 3), ("tenant:b", 1) })
        {
            for (var i = 0; i < count; i++)
            {
                await host.Queue.EnqueueAsync(new Echo("x"), new JobOptions { Queue = "idle", ConcurrencyKey = key, ConcurrencyLimit = 2 }, ct);
            }
        }

        // "idle" has no processor here: claim two of the first key as a host would, so they count as running.
        (await host.Queue.Store.ClaimAsync(new ClaimRequest("idle", 10, 10, TimeSpan.FromMinutes(5)), null)).Jobs.Should().HaveCount(3);
        await host.Queue.SetRateLimitAsync(new JobRateLimit(RateLimitScope.Queue, "idle", 50, TimeSpan.FromSeconds(1)), ct);

        var html = await host.GetPageAsync("/jobs/keys", ct);
        var json = JsonDocument.Parse(await host.Client.GetStringAsync(new Uri(host.Url, "jobs/api/keys"), ct)).RootElement;

        html.Should().Contain("<title>Concurrency keys · Ladder jobs</title>");
        html.Should().Contain("<a href=\"/jobs/keys\" aria-current=\"page\">Keys</a>", "the page is in the navigation");
        html.Should().Contain("<tr class=\"full\"><th scope=\"row\">player:&lt;42&gt;</th><td class=\"num\">2</td><td class=\"num\">2</td><td class=\"num\">1</td></tr>", "the key is encoded, and full");
        html.Should().Contain("<tr><th scope=\"row\">tenant:b</th><td class=\"num\">2</td><td class=\"num\">1</td><td class=\"num\">0</td></tr>");
        html.Should().Contain("<tr><td>queue</td><th scope=\"row\">idle</th><td class=\"num\">50</td>");
        json.GetProperty("keys").EnumerateArray().Select(k => (k.GetProperty("key").GetString(), k.GetProperty("running").GetInt64(), k.GetProperty("waiting").GetInt64()))
            .Should().Equal(("player:<42>", 2L, 1L), ("tenant:b", 1L, 0L));
        json.GetProperty("rateLimits")[0].GetProperty("windowMs").GetInt64().Should().Be(1000);
        (await host.GetPageAsync("/jobs", ct)).Should().Contain("<a href=\"/jobs/keys\">Keys</a>", "every page links it");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task KeysPage_WithNoKeys_SaysSo(CancellationToken ct)
    {
        await using var host = await DashboardHost.StartAsync();

        var html = await host.GetPageAsync("/jobs/keys", ct);

        html.Should().Contain("No job with a concurrency key is running or waiting.").And.Contain("No rate limit is set.");
    }
}
