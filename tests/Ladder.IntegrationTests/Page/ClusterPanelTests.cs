using Ladder.IntegrationTests.Support;
using Ladder.PostgreSql.Testing;
using OpenQA.Selenium;
using OpenQA.Selenium.Support.UI;

namespace Ladder.IntegrationTests.Page;

/// <summary>The page of a host in a three-host cluster, in headless Chromium: the cluster panel lists the three hosts.</summary>
[TestFixture]
[NonParallelizable]
public sealed class ClusterPanelTests
{
    [Test]
    [CancelAfter(240_000)]
    public async Task ClusterPanel_OnAnyHost_ListsTheThreeHosts_MarksTheOneServingThePage_AndTheSharedQueue(CancellationToken ct)
    {
        HeadlessChromium.IsInstalled.Should().BeTrue("the page test needs Debian's chromium and chromedriver (.ci/install-deps)");
        await using var server = await PostgresServer.StartAsync(cancellationToken: ct);
        var database = await server.CreateDatabaseAsync("cluster_page", ct);
        using var folder = new TempFolder();
        string[] settings = ["--postgres", database, "--Ladder:WorkerCount=1", "--Ladder:HeartbeatInterval=00:00:00.5"];
        var starting = Enumerable.Range(0, 3).Select(_ => SampleHostProcess.StartAsync(folder.Path, ct, settings)).ToArray();
        var hosts = await Task.WhenAll(starting);
        try
        {
            var player = await LadderWorld.PlayerAsync(hosts[1].Client, "KR", ct);
            var other = await LadderWorld.PlayerAsync(hosts[2].Client, "SE", ct);
            var match = await hosts[0].Client.CreateMatchAsync(player.Id, Sample.Domain.Race.Zerg, other.Id, Sample.Domain.Race.Terran, ct);
            await hosts[1].Client.ReportAsync(match.Id, player.Id, ct);

            using var chromium = new HeadlessChromium();
            chromium.SetViewport(1280, 1000);
            chromium.Driver.Navigate().GoToUrl(new Uri(hosts[1].Url, "/"));
            var wait = new WebDriverWait(chromium.Driver, TimeSpan.FromSeconds(60));
            wait.IgnoreExceptionTypes(typeof(StaleElementReferenceException));
            wait.Until(d => d.FindElements(By.CssSelector("#cluster-hosts li.host.alive")).Count == 3
                && d.FindElements(By.CssSelector("#leaderboard tbody tr")).Count > 0);

            var self = $"{Environment.MachineName}:{hosts[1].Url.Port}";
            var listed = chromium.Driver.FindElements(By.CssSelector("#cluster-hosts li.host")).Select(static li => li.GetAttribute("data-host")).ToList();
            listed.Should().BeEquivalentTo(hosts.Select(static h => $"{Environment.MachineName}:{h.Url.Port}"));
            chromium.Driver.FindElement(By.CssSelector("#cluster-hosts li.self")).GetAttribute("data-host").Should().Be(self);
            chromium.Driver.FindElement(By.Id("served-by")).Text.Should().Be(self);
            chromium.Driver.FindElement(By.Id("cluster-note")).Text.Should().StartWith("3 hosts on PostgreSQL 127.0.0.1:");
            chromium.Driver.FindElement(By.Id("cluster-queue")).Text.Should().Contain("ready").And.Contain("running");
            chromium.SaveScreenshot("cluster-1280", Path.Combine("docs", "sample"));
        }
        finally
        {
            foreach (var host in hosts)
            {
                await host.DisposeAsync();
            }
        }
    }
}
