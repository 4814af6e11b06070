using System.Net;
using Ladder.Jobs.Dashboard.Tests.Support;

namespace Ladder.Jobs.Dashboard.Tests;

/// <summary>Pages and JSON carry anti-forgery tokens and live data: no cache keeps them. Assets linked by content hash are cached for good.</summary>
[TestFixture]
public sealed class CacheHeadersTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task EveryPageAndJsonEndpoint_IsSentNoCacheNoStore(CancellationToken ct)
    {
        await using var host = await DashboardHost.StartAsync();
        var id = await host.DeadJobAsync("corrupt replay", ct);
        string[] paths =
        [
            "/jobs", "/jobs/", "/jobs/jobs?state=dead", $"/jobs/jobs/{id}", "/jobs/schedules", "/jobs/keys",
            "/jobs/api/overview", "/jobs/api/jobs?state=dead", $"/jobs/api/jobs/{id}", "/jobs/api/schedules", "/jobs/api/keys",
            "/jobs/jobs/999999", "/jobs/jobs?state=nonsense",
        ];

        foreach (var path in paths)
        {
            using var response = await host.Client.GetAsync(path, ct);
            ShouldNotBeCached(response, path);
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AnActionsAnswer_AndARefusal_AreSentNoCacheNoStore(CancellationToken ct)
    {
        await using var host = await DashboardHost.StartAsync();
        var id = await host.DeadJobAsync("corrupt replay", ct);
        var page = await host.GetPageAsync($"/jobs/jobs/{id}", ct);

        using (var retried = await host.PostAsync($"/jobs/jobs/{id}/retry", DashboardHost.FormToken(page), ct))
        {
            ShouldNotBeCached(retried, "the retry's redirect");
        }

        using (var forged = await host.PostAsync($"/jobs/jobs/{id}/retry", token: null, ct))
        {
            forged.StatusCode.Should().Be(HttpStatusCode.BadRequest);
            ShouldNotBeCached(forged, "a post without its token");
        }

        await using var closed = await DashboardHost.StartAsync(o => o.Authorize = _ => ValueTask.FromResult(false));
        using var refused = await closed.Client.GetAsync("/jobs", ct);
        refused.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        ShouldNotBeCached(refused, "a refusal");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AnAssetLinkedByItsHash_IsCachedForGood_AndWithoutTheHashIsRevalidated(CancellationToken ct)
    {
        await using var host = await DashboardHost.StartAsync();
        var page = await host.GetPageAsync("/jobs", ct);
        var css = System.Text.RegularExpressions.Regex.Match(page, "href=\"(/jobs/assets/dashboard\\.css\\?v=[0-9a-f]+)\"").Groups[1].Value;

        using var hashed = await host.Client.GetAsync(css, ct);
        hashed.Headers.CacheControl!.Public.Should().BeTrue();
        hashed.Headers.CacheControl.MaxAge.Should().Be(TimeSpan.FromDays(365));
        hashed.Headers.CacheControl.NoStore.Should().BeFalse();

        using var plain = await host.Client.GetAsync("/jobs/assets/dashboard.css", ct);
        plain.Headers.CacheControl!.NoCache.Should().BeTrue();
        plain.Headers.CacheControl.NoStore.Should().BeFalse("an asset may be kept, and revalidated");
    }

    private static void ShouldNotBeCached(HttpResponseMessage response, string what)
    {
        var cacheControl = response.Headers.CacheControl;
        cacheControl.Should().NotBeNull($"{what} ({(int)response.StatusCode}) names its caching");
        cacheControl!.NoCache.Should().BeTrue(what);
        cacheControl.NoStore.Should().BeTrue(what);
    }
}
