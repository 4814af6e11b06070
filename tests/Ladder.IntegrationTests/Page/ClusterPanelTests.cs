using Ladder.IntegrationTests.Support;
using Ladder.PostgreSql.Testing;
using OpenQA.Selenium;
using OpenQA.Selenium.Support.UI;

namespace Ladder.IntegrationTests.Page;

/// <summary>
/// The page of a host in a three-host cluster, in headless Chromium: the cluster panel lists the three hosts, and the
/// page lays out cleanly at a laptop's and a phone's width with a host running a parse (the panel's longest line).
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ClusterPanelTests
{
    [Test]
    [CancelAfter(240_000)]
    public async Task ClusterPanel_OnAnyHost_ListsTheThreeHosts_MarksTheOneServingThePage_AndTheSharedQueue_At1280And390Px(CancellationToken ct)
    {
        HeadlessChromium.IsInstalled.Should().BeTrue("the page test needs Debian's chromium and chromedriver (.ci/install-deps)");
        await using var server = await PostgresServer.StartAsync(cancellationToken: ct);
        var database = await server.CreateDatabaseAsync("cluster_page", ct);
        using var folder = new TempFolder();
        // A parse deadline long enough that the hanging replay below is still running when the page is looked at.
        string[] settings = ["--postgres", database, "--Ladder:WorkerCount=1", "--Ladder:HeartbeatInterval=00:00:00.5", "--Ladder:ParseDeadline=00:01:00"];
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
            chromium.Driver.FindElements(By.CssSelector("#cluster-hosts li.host .detail")).Select(static d => d.Text)
                .Should().BeEquivalentTo(hosts.Select(static h => $"pid {h.ProcessId}, 1 worker (0 busy), no job running"),
                    "each host's line says its pid and its one worker in words");
            PageLayout.Problems(chromium.Driver).Should().BeEmpty("the page of a cluster host at 1280 px lays out cleanly");
            chromium.SaveScreenshot("cluster-1280", Path.Combine("docs", "sample"));

            // A phone's width, while one of the hosts runs a parse: its line names the job and the match.
            var (hanging, spec) = await LadderWorld.MatchAsync(hosts[2].Client, player, Sample.Domain.Race.Zerg, other, Sample.Domain.Race.Terran, 0, ct);
            var upload = await hosts[2].Client.UploadReplayAsync(hanging.Id, Sample.Replays.ReplayGenerator.CreateHanging(spec), ct);
            chromium.SetViewport(390, 844);
            chromium.Driver.Navigate().Refresh();
            wait.Until(d => d.FindElements(By.CssSelector("#cluster-hosts li.host.alive")).Count == 3
                && d.FindElements(By.CssSelector("#cluster-hosts li.host .detail")).Any(e => e.Text.Contains($"running job {upload.JobId} (match {hanging.Id})", StringComparison.Ordinal))
                && d.FindElements(By.CssSelector("#leaderboard tbody tr")).Count > 0);
            ((IJavaScriptExecutor)chromium.Driver).ExecuteScript("return window.innerWidth").Should().Be(390L);
            PageLayout.Problems(chromium.Driver).Should().BeEmpty("the page of a cluster host at 390 px lays out cleanly");
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
