using Ladder.IntegrationTests.Support;
using Ladder.Sample.Domain;
using Ladder.Sample.Replays;
using OpenQA.Selenium;
using OpenQA.Selenium.Support.UI;

namespace Ladder.IntegrationTests.Page;

/// <summary>The page at / in headless Chromium, against the real host.</summary>
[TestFixture]
[NonParallelizable]
public sealed class LadderPageTests
{
    [Test]
    [CancelAfter(180_000)]
    public async Task Page_ShowsTheLeaderboard_FiltersByCountry_AndRetriesADeadJob(CancellationToken ct)
    {
        HeadlessChromium.IsInstalled.Should().BeTrue("the page test needs Debian's chromium and chromedriver (.ci/install-deps)");
        using var folder = new TempFolder();
        await using var host = await SampleHostProcess.StartAsync(folder.Path, ct, "--Ladder:ParseMaxAttempts=1");
        var client = host.Client;
        var players = new List<Player>();
        foreach (var country in new[] { "KR", "KR", "KR", "SE", "SE", "SE" })
        {
            players.Add(await LadderWorld.PlayerAsync(client, country, ct));
        }

        for (var i = 0; i < players.Count; i++)
        {
            var (match, _) = await LadderWorld.MatchAsync(client, players[i], Race.Zerg, players[(i + 1) % players.Count], Race.Zerg, 0, ct);
            await client.ReportAsync(match.Id, players[i].Id, ct);
        }

        var (corruptMatch, spec) = await LadderWorld.MatchAsync(client, players[0], Race.Zerg, players[3], Race.Zerg, 0, ct);
        var upload = await client.UploadReplayAsync(corruptMatch.Id, ReplayGenerator.Corrupt(ReplayGenerator.Create(spec)), ct);
        (await LadderWorld.FinalAsync(client, upload.Hash, ct)).JobState.Should().Be("dead");

        using var chromium = new HeadlessChromium();
        var driver = chromium.Driver;
        var wait = new WebDriverWait(driver, TimeSpan.FromSeconds(30));

        // The page refreshes its sections every few seconds: an element found a moment ago may have been replaced.
        wait.IgnoreExceptionTypes(typeof(StaleElementReferenceException));
        driver.Navigate().GoToUrl(host.Url);

        // The page loads and shows the leaderboard: six players, one row each.
        wait.Until(d => d.FindElements(By.CssSelector("#leaderboard tbody tr")).Count == 6);
        driver.Title.Should().Be("Ladder");

        // A filter works: only Swedish players remain.
        wait.Until(d => d.FindElements(By.CssSelector("#country-filter option[value='SE']")).Count == 1);
        driver.FindElement(By.CssSelector("#country-filter option[value='SE']")).Click();
        wait.Until(d => d.FindElements(By.CssSelector("#leaderboard tbody tr")) is { Count: 3 } rows
            && rows.All(r => r.FindElements(By.TagName("td"))[2].Text == "SE"));

        // The queue shows the dead job with its reason, and its Retry button puts it back in the queue.
        wait.Until(d => d.FindElements(By.CssSelector($"#dead-jobs tr[data-job-id='{upload.JobId}']")) is [var row]
            && row.Text.Contains("corrupt replay", StringComparison.Ordinal));
        wait.Until(d =>
        {
            d.FindElement(By.CssSelector($"#dead-jobs tr[data-job-id='{upload.JobId}'] button.retry")).Click();
            return true;
        });
        wait.Until(d => d.FindElement(By.Id("queue-note")).Text.Contains($"job {upload.JobId} queued again", StringComparison.Ordinal));

        // Retried: it ran a second time (and, being corrupt, died again with the same reason).
        var retried = await Eventually.WaitAsync(c => client.GetReplayStatusAsync(upload.Hash, c), static s => s.Runs >= 2 && s.IsFinal,
            TimeSpan.FromSeconds(60), ct, "the retried job to run");
        retried.JobState.Should().Be("dead");
        retried.Reason.Should().StartWith("corrupt replay:");
    }
}
