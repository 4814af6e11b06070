using System.Net.Http.Json;
using Ladder.IntegrationTests.Support;
using Ladder.Sample.Domain;
using Ladder.Sample.Replays;
using Ladder.Sample.Simulate;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace Ladder.IntegrationTests.Page;

/// <summary>
/// The page as a product, in headless Chromium against the real host: the player page and its chart, search and
/// sort, dead jobs past the first hundred, the layout at a phone's and a laptop's width, and which host answered.
/// One host and one browser for the fixture: the ladder they look at is built once.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class PageProductTests
{
    // Mixed case on purpose: the name sort ignores case. The last is the widest name a player may have (24 letters,
    // PlayerName.MaxLength, all W): a heading, a link or a cell that cannot wrap it pushes the page past a phone's edge.
    private const string WidestName = "WWWWWWWWWWWWWWWWWWWWWWWW";

    private static readonly (string Name, string Country)[] People =
    [
        ("alpha", "KR"), ("Bravo", "KR"), ("charlie", "SE"), ("Delta", "SE"),
        ("echo", "PL"), ("Foxtrot", "PL"), ("golf", "KR"), (WidestName, "SE"),
    ];

    private const int DeadJobs = 105;

    private TempFolder _folder = null!;
    private SampleHostProcess _host = null!;
    private LadderClient _client = null!;
    private HeadlessChromium _chromium = null!;
    private List<Player> _players = null!;
    private Player Alpha => _players[0];
    private string _parsedReplayHash = "";

    [OneTimeSetUp]
    public async Task StartTheHostAndBuildALadder()
    {
        HeadlessChromium.IsInstalled.Should().BeTrue("the page test needs Debian's chromium and chromedriver (.ci/install-deps)");
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = timeout.Token;
        _folder = new TempFolder();
        // A data folder as deep as the sample's default (its path is shown on the page, in the cluster panel's note).
        var data = Path.Combine(_folder.Path, "samples", "Ladder.Sample", "bin", "Debug", "net10.0", "data");
        _host = await SampleHostProcess.StartAsync(data, ct, "--Ladder:ParseMaxAttempts=1");
        _client = _host.Client;
        _players = [];
        foreach (var (name, country) in People)
        {
            _players.Add(await _client.CreatePlayerAsync(name, country, ct));
        }

        // A season reported by hand: everyone rated, alpha in two races (zerg here, terran below).
        for (var i = 0; i < _players.Count; i++)
        {
            var (a, b) = (_players[i], _players[(i + 1) % _players.Count]);
            var match = await _client.CreateMatchAsync(a.Id, Race.Zerg, b.Id, Race.Protoss, ct);
            await _client.ReportAsync(match.Id, i % 3 == 0 ? b.Id : a.Id, ct);
        }

        for (var i = 1; i <= 5; i++)
        {
            var match = await _client.CreateMatchAsync(Alpha.Id, Race.Terran, _players[i].Id, Race.Zerg, ct);
            await _client.ReportAsync(match.Id, i % 2 == 0 ? Alpha.Id : _players[i].Id, ct);
        }

        // One of alpha's games rated from its replay, parsed in a worker.
        var (parsedMatch, spec) = await LadderWorld.MatchAsync(_client, Alpha, Race.Zerg, _players[2], Race.Terran, 0, ct);
        var upload = await _client.UploadReplayAsync(parsedMatch.Id, ReplayGenerator.Create(spec), ct);
        (await LadderWorld.FinalAsync(_client, upload.Hash, ct)).JobState.Should().Be("succeeded");
        _parsedReplayHash = upload.Hash;

        // More dead jobs than the old cap of 100: corrupt replays, each dead after its one attempt.
        await Parallel.ForEachAsync(Enumerable.Range(0, DeadJobs), new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = ct }, async (k, c) =>
        {
            var (a, b) = (_players[k % _players.Count], _players[(k + 3) % _players.Count]);
            var (match, corruptSpec) = await LadderWorld.MatchAsync(_client, a, Race.Zerg, b, Race.Terran, 0, c);
            await _client.UploadReplayAsync(match.Id, ReplayGenerator.Corrupt(ReplayGenerator.Create(corruptSpec)), c);
        });
        await Eventually.WaitAsync(c => _client.GetJobCountsAsync(c), static q => q.ByState["dead"] == DeadJobs,
            TimeSpan.FromSeconds(120), ct, $"{DeadJobs} dead jobs");

        _chromium = new HeadlessChromium();
    }

    [OneTimeTearDown]
    public async Task StopEverything()
    {
        _chromium?.Dispose();
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        _folder?.Dispose();
    }

    private ChromeDriver Driver => _chromium.Driver;

    private WebDriverWait Wait()
    {
        var wait = new WebDriverWait(Driver, TimeSpan.FromSeconds(30));

        // The page refreshes its panels every few seconds: an element found a moment ago may have been replaced.
        wait.IgnoreExceptionTypes(typeof(StaleElementReferenceException));
        return wait;
    }

    private void Open(string path, int width = 1280, int height = 1000)
    {
        _chromium.SetViewport(width, height);
        Driver.Navigate().GoToUrl(new Uri(_host.Url, path));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task PlayerPage_ForAPlayerWithMatches_ShowsRatingsPerRace_AChartWithAPointPerRatedGame_AndTheHistory(CancellationToken ct)
    {
        var history = await _client.GetHistoryAsync(Alpha.Id, ct: ct);
        var rated = history.Series.Sum(static s => s.Points.Count);
        history.Series.Select(static s => s.Race).Should().Equal(["protoss", "terran", "zerg"]);
        rated.Should().Be(8, "alpha played 1 protoss, 5 terran and 1 zerg game reported by hand, and 1 zerg game rated from its replay");
        foreach (var series in history.Series)
        {
            series.Points[^1].Rating.Should().Be(history.Ratings.Single(r => r.Race == series.Race).Rating,
                "a race's line ends at its rating now");
        }

        Open($"/players/{Alpha.Id}");
        var wait = Wait();
        wait.Until(d => d.FindElements(By.CssSelector("#rating-chart svg circle.point")).Count == rated);
        Driver.Title.Should().Be("alpha \u00B7 Ladder");
        Driver.FindElement(By.Id("player-name")).Text.Should().Be("alpha");
        Driver.FindElements(By.CssSelector("#rating-chart svg polyline")).Select(static p => p.GetAttribute("data-race"))
            .Should().Equal(["protoss", "terran", "zerg"]);
        Driver.FindElements(By.CssSelector("#player-ratings li")).Select(static li => li.GetAttribute("data-race"))
            .Should().BeEquivalentTo(history.Ratings.Select(static r => r.Race));
        foreach (var rating in history.Ratings)
        {
            Driver.FindElement(By.CssSelector($"#player-ratings li[data-race='{rating.Race}'] .rating")).Text.Should().Be(rating.Rating.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        // The history: every match of alpha's (the corrupt ones too, still waiting for a result), newest first.
        history.TotalMatches.Should().BeGreaterThan(20, "the corrupt uploads' matches are alpha's too");
        wait.Until(d => d.FindElements(By.CssSelector("#player-matches tbody tr")).Count == 20);
        var parsed = history.Matches.Concat((await _client.GetHistoryAsync(Alpha.Id, 2, ct)).Matches)
            .Single(m => m.Replay?.Hash == _parsedReplayHash);
        parsed.Result.Should().Be("won");
        parsed.Replay!.State.Should().Be("succeeded");
        var deadOne = history.Matches.First(m => m.Replay?.State == "dead");
        Driver.FindElement(By.CssSelector($"#player-matches tr[data-match-id='{deadOne.Id}']")).Text
            .Should().Contain("pending").And.Contain("corrupt replay");

        // Older matches are a page further; the parsed one shows its replay as parsed.
        while (Driver.FindElements(By.CssSelector($"#player-matches tr[data-match-id='{parsed.Id}']")).Count == 0)
        {
            Driver.FindElement(By.Id("matches-next")).Enabled.Should().BeTrue("the parsed match is on some page");
            var info = Driver.FindElement(By.Id("matches-info")).Text;
            Driver.FindElement(By.Id("matches-next")).Click();
            wait.Until(d => d.FindElement(By.Id("matches-info")).Text != info);
        }

        Driver.FindElement(By.CssSelector($"#player-matches tr[data-match-id='{parsed.Id}']")).Text.Should().Contain("parsed").And.Contain("won");

        // An opponent's name is a link to their page.
        var opponent = _players[2];
        Driver.FindElement(By.CssSelector($"#player-matches tr[data-match-id='{parsed.Id}'] a.player")).Click();
        wait.Until(d => d.FindElement(By.Id("player-name")).Text == opponent.Name);
        Driver.Url.Should().EndWith($"/players/{opponent.Id}");

        // A player that does not exist: a clear message, and the API's 404.
        Open("/players/987654");
        wait.Until(d => d.FindElement(By.Id("player-state")).Text == "There is no player 987654.");
        var missing = async () => await _client.GetHistoryAsync(987654, ct: ct);
        (await missing.Should().ThrowAsync<LadderApiException>()).Which.StatusCode.Should().Be(404);
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task FrontPage_SearchFindsAPlayerByName_AndEachColumnHeadingSortsTheBoard(CancellationToken ct)
    {
        // The rank is the place by rating; a sorted or searched board keeps each row's rank.
        var board = (await _client.GetLeaderboardAsync(ct: ct)).Rows;
        var byRating = board.ToDictionary(static r => (r.PlayerId, r.Race), static r => r.Rank);
        byRating.Should().HaveCount(2 * People.Length + 2, "one row per player and race: everyone played zerg and protoss, alpha and charlie terran too");

        Open("/");
        var wait = Wait();
        wait.Until(d => Rows(d).Count == byRating.Count);

        var search = Driver.FindElement(By.Id("name-search"));
        search.SendKeys("ECHO");
        wait.Until(d => Rows(d) is { Count: 2 } rows && rows.All(static r => r.Name == "echo"));

        // LIKE's wildcards are searched as themselves.
        (await _client.Http.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/leaderboard?name=%25", ct)).GetProperty("total").GetInt32().Should().Be(0);
        (await _client.Http.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/leaderboard?name=_", ct)).GetProperty("total").GetInt32().Should().Be(0);
        (await _client.Http.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/leaderboard?name=LPH", ct)).GetProperty("total").GetInt32().Should().Be(3);

        search.SendKeys(Keys.Control + "a");
        search.SendKeys(Keys.Backspace);
        wait.Until(d => Rows(d).Count == byRating.Count);

        Driver.FindElement(By.CssSelector("#leaderboard button.sort[data-sort='name']")).Click();
        var ascending = board.Select(static r => r.Name).Order(StringComparer.OrdinalIgnoreCase).ToList();
        wait.Until(d => Rows(d).Select(static r => r.Name).SequenceEqual(ascending));
        Rows(Driver).Select(static r => (r.PlayerId, r.Race, r.Rank)).Should().BeEquivalentTo(board.Select(static r => (r.PlayerId, r.Race, r.Rank)),
            "each row keeps its place by rating");
        Driver.FindElement(By.CssSelector("#leaderboard button.sort[data-sort='name']")).GetAttribute("aria-sort").Should().Be("ascending");

        Driver.FindElement(By.CssSelector("#leaderboard button.sort[data-sort='name']")).Click();
        wait.Until(d => Rows(d).Select(static r => r.Name).SequenceEqual(Enumerable.Reverse(ascending)));

        Driver.FindElement(By.CssSelector("#leaderboard button.sort[data-sort='games']")).Click();
        wait.Until(d => Rows(d) is { Count: > 0 } rows && rows.Select(static r => r.Games).SequenceEqual(rows.Select(static r => r.Games).OrderDescending())
            && Driver.FindElement(By.CssSelector("#leaderboard button.sort[data-sort='games']")).GetAttribute("aria-sort") == "descending");
        Rows(Driver)[0].Name.Should().Be("alpha", "alpha played the most games in one race (terran: 5, tied with nobody)");

        Driver.FindElement(By.CssSelector("#leaderboard button.sort[data-sort='rank']")).Click();
        wait.Until(d => Rows(d).Select(static r => r.Rank).SequenceEqual(Enumerable.Range(1, byRating.Count)));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task DeadJobs_ArePagedPastTheFirstHundred_WithReadableLabels(CancellationToken ct)
    {
        var first = await _client.GetDeadJobPageAsync(null, 100, ct);
        first.Total.Should().Be(DeadJobs);
        first.Jobs.Should().HaveCount(100);
        first.NextAfter.Should().NotBeNull();
        var second = await _client.GetDeadJobPageAsync(first.NextAfter, 100, ct);
        second.Jobs.Should().HaveCount(DeadJobs - 100);
        second.NextAfter.Should().BeNull();
        var all = first.Jobs.Concat(second.Jobs).ToList();
        all.Select(static j => j.Id).Should().OnlyHaveUniqueItems().And.BeInAscendingOrder();
        all.Should().OnlyContain(static j => j.Label.StartsWith("match ", StringComparison.Ordinal) && j.Label.Contains(" vs ", StringComparison.Ordinal));

        Open("/");
        var wait = Wait();
        wait.Until(d => d.FindElement(By.Id("dead-info")).Text == $"1\u201325 of {DeadJobs}");
        for (var page = 1; page < 5; page++)
        {
            Driver.FindElement(By.Id("dead-next")).Click();
            var from = page * 25 + 1;
            wait.Until(d => d.FindElement(By.Id("dead-info")).Text == $"{from}\u2013{Math.Min(from + 24, DeadJobs)} of {DeadJobs}");
        }

        wait.Until(d => d.FindElements(By.CssSelector("#dead-jobs tbody tr")).Select(static r => long.Parse(r.GetAttribute("data-job-id")!, System.Globalization.CultureInfo.InvariantCulture))
            .SequenceEqual(all.Skip(100).Select(static j => j.Id)));
        Driver.FindElement(By.Id("dead-next")).Enabled.Should().BeFalse("this is the last page");
        var lastRow = Driver.FindElement(By.CssSelector($"#dead-jobs tr[data-job-id='{all[^1].Id}']")).Text;
        lastRow.Should().Contain(all[^1].Label).And.Contain("corrupt replay").And.Contain("1 of 1");

        Driver.FindElement(By.Id("dead-prev")).Click();
        wait.Until(d => d.FindElement(By.Id("dead-info")).Text == $"76\u2013100 of {DeadJobs}");
    }

    [TestCase(360, 740)]
    [TestCase(390, 844)]
    [TestCase(768, 1024)]
    [TestCase(1040, 800)]
    [TestCase(1210, 900)]
    [TestCase(1280, 1000)]
    [TestCase(1920, 1080)]
    public void Layout_AtThisWidth_HasNoOverlappingElements_NothingPastTheEdge_AndNoHiddenButton(int width, int height)
    {
        var wait = Wait();
        Open("/", width, height);
        wait.Until(d => d.FindElements(By.CssSelector("#leaderboard tbody tr")).Count > 0
            && d.FindElements(By.CssSelector("#results-feed li")).Count > 0
            && d.FindElements(By.CssSelector("#dead-jobs tbody tr")).Count > 0
            && d.FindElements(By.CssSelector("#worker-stats div")).Count > 0
            && d.FindElement(By.Id("served-by")).Text.Contains(':', StringComparison.Ordinal));
        ((IJavaScriptExecutor)Driver).ExecuteScript("return window.innerWidth").Should().Be((long)width);
        PageLayout.Problems(Driver).Should().BeEmpty($"the front page at {width} px lays out cleanly");
        Screenshot($"front-{width}", width);

        Open($"/players/{Alpha.Id}", width, height);
        wait.Until(d => d.FindElements(By.CssSelector("#rating-chart svg circle.point")).Count > 0
            && d.FindElements(By.CssSelector("#player-matches tbody tr")).Count > 0);
        PageLayout.Problems(Driver).Should().BeEmpty($"the player page at {width} px lays out cleanly");
        Screenshot($"player-{width}", width);

        var widest = _players.Single(static p => p.Name == WidestName);
        Open($"/players/{widest.Id}", width, height);
        wait.Until(d => d.FindElement(By.Id("player-name")).Text == WidestName
            && d.FindElements(By.CssSelector("#player-matches tbody tr")).Count > 0);
        PageLayout.Problems(Driver).Should().BeEmpty($"the page of the player with the widest name at {width} px lays out cleanly");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task QueueAndPoolPanels_ShowAJobWaitingForItsRetry_WithAttemptAndNextRun_AndTheTimeout_AndTheCountryListFollowsTheData(CancellationToken ct)
    {
        // Its own host: a parse that hangs times out after 1 s, and its retry waits a minute, long enough to look at.
        using var folder = new TempFolder();
        await using var host = await SampleHostProcess.StartAsync(folder.Path, ct,
            "--Ladder:ParseDeadline=00:00:01", "--Ladder:ParseMaxAttempts=2", "--Ladder:ParseRetryDelay=00:01:00");
        var client = host.Client;
        var (a, b) = (await client.CreatePlayerAsync("Retry One", "KR", ct), await client.CreatePlayerAsync("Retry Two", "SE", ct));
        var (match, spec) = await LadderWorld.MatchAsync(client, a, Race.Zerg, b, Race.Terran, 0, ct);
        await client.ReportAsync((await client.CreateMatchAsync(a.Id, Race.Zerg, b.Id, Race.Terran, ct)).Id, a.Id, ct);
        var upload = await client.UploadReplayAsync(match.Id, ReplayGenerator.CreateHanging(spec), ct);
        var active = await Eventually.WaitAsync(c => client.GetActiveJobsAsync(c), static j => j.RetryingCount == 1, TimeSpan.FromSeconds(60), ct, "the timed-out parse to wait for its retry");
        var job = active.Retrying.Single();
        job.Id.Should().Be(upload.JobId);
        job.Label.Should().Be($"match {match.Id}: Retry One (zerg) vs Retry Two (terran)");
        (job.Attempts, job.MaxAttempts).Should().Be((1, 2));
        job.Reason.Should().StartWith("parse timed out after 1 s");

        Open(host.Url.ToString());
        var wait = Wait();
        wait.Until(d => d.FindElements(By.CssSelector($"#active-jobs tr[data-job-id='{job.Id}']")) is [var row]
            && row.Text.Contains(job.Label, StringComparison.Ordinal)
            && row.Text.Contains("attempt 1 of 2 failed: parse timed out", StringComparison.Ordinal)
            && row.Text.Contains("retry in ", StringComparison.Ordinal));
        wait.Until(d => d.FindElements(By.CssSelector("#worker-incidents li[data-kind='timeout']")) is [var incident]
            && incident.Text.Contains($"match {match.Id}", StringComparison.Ordinal));
        Driver.FindElement(By.CssSelector("#queue-counts [data-state='failed'] dt")).Text.Should().Be("Retry scheduled");
        Driver.FindElement(By.CssSelector("#worker-stats [data-stat='timeouts'] dd")).Text.Should().Be("1");
        wait.Until(d => d.FindElement(By.Id("worker-processes")).Text.StartsWith("Worker processes: ", StringComparison.Ordinal));
        var pids = Driver.FindElement(By.Id("worker-processes")).Text["Worker processes: ".Length..].Split('.')[0].Split(", ");
        // Every live worker process is listed (serving, spare, starting, exiting): at least the two that serve, which
        // are the host's children (one listed a moment ago may have exited since, so not all need be).
        pids.Intersect(host.ChildProcessIds().Select(static id => id.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            .Should().HaveCountGreaterThanOrEqualTo(2, $"the page listed {string.Join(", ", pids)}");

        // The country list comes with the data: a player from a new country shows up in it without a reload.
        wait.Until(d => d.FindElements(By.CssSelector("#country-filter option")).Select(static o => o.GetAttribute("value")).SequenceEqual(["", "KR", "SE"]));
        await client.CreatePlayerAsync("Retry Three", "NO", ct);
        wait.Until(d => d.FindElements(By.CssSelector("#country-filter option")).Select(static o => o.GetAttribute("value")).SequenceEqual(["", "KR", "NO", "SE"]));
    }

    [Test]
    public void LayoutCheck_FindsAnOverlap_AnElementPastTheEdge_AHiddenButton_AndASplitWord_WhenThePageHasThem()
    {
        // The check above passing means something only if it fails on a page that is broken in each of those ways.
        Open("/", 390, 844);
        Wait().Until(d => d.FindElements(By.CssSelector("#leaderboard tbody tr")).Count > 0);
        PageLayout.Problems(Driver).Should().BeEmpty();
        ((IJavaScriptExecutor)Driver).ExecuteScript("""
            const over = document.createElement('p');
            over.textContent = 'covering the first name';
            const at = document.querySelector('#leaderboard tbody a.player').getBoundingClientRect();
            over.style.cssText = 'position:absolute; margin:0; left:' + (at.left + scrollX) + 'px; top:' + (at.top + scrollY) + 'px';
            document.body.append(over);
            const wide = document.createElement('p');
            wide.textContent = 'wide';
            wide.style.cssText = 'width: 600px; margin: 0';
            document.querySelector('#results-section').append(wide);
            document.querySelector('#next-page').style.display = 'none';
            const squeezed = document.createElement('p');
            squeezed.textContent = 'pending';
            squeezed.style.cssText = 'width: 3ch; overflow-wrap: anywhere; margin: 0';
            document.querySelector('#results-section').append(squeezed);
            """);
        var problems = PageLayout.Problems(Driver);
        problems.Should().Contain(p => p.Contains("covering the first name", StringComparison.Ordinal) && p.Contains("overlaps", StringComparison.Ordinal));
        problems.Should().Contain(p => p.Contains("px viewport", StringComparison.Ordinal) && p.StartsWith("p spans", StringComparison.Ordinal));
        problems.Should().Contain(p => p.StartsWith("button not displayed: next", StringComparison.Ordinal));
        problems.Should().Contain(p => p.StartsWith("word \"pending\" split over ", StringComparison.Ordinal));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task EveryAnswer_SaysWhichHostServedIt_AndThePageShowsIt(CancellationToken ct)
    {
        var expected = $"{Environment.MachineName}:{_host.Url.Port}";
        foreach (var path in new[] { "/", "/app.js", $"/players/{Alpha.Id}", "/api/health", "/api/leaderboard", "/api/players/987654", "/api/leaderboard?race=elf", "/no-such-page" })
        {
            using var response = await _client.Http.GetAsync(new Uri(path, UriKind.Relative), ct);
            response.Headers.GetValues("X-Ladder-Host").Should().Equal([expected], $"GET {path} answered {(int)response.StatusCode}");
        }

        var host = await _client.GetHostAsync(ct);
        host.Host.Should().Be(expected);
        host.Port.Should().Be(_host.Url.Port);
        host.ProcessId.Should().Be(_host.ProcessId);

        Open("/");
        Wait().Until(d => d.FindElement(By.Id("served-by")).Text == expected);

        // The jobs dashboard the host mounts says it too, in its footer.
        (await _client.Http.GetStringAsync(new Uri("/jobs", UriKind.Relative), ct)).Should().Contain($"<span class=\"page-note\">served by {expected}</span>");
    }

    // The docs show a phone's width and a laptop's.
    private void Screenshot(string name, int width)
    {
        if (width is 390 or 1280)
        {
            _chromium.SaveScreenshot(name, Path.Combine("docs", "sample"));
        }
    }

    private sealed record BoardRow(int Rank, long PlayerId, string Name, string Race, int Games);

    private static List<BoardRow> Rows(IWebDriver driver)
        => [.. driver.FindElements(By.CssSelector("#leaderboard tbody tr")).Select(static tr =>
        {
            var cells = tr.FindElements(By.TagName("td"));
            return new BoardRow(int.Parse(cells[0].Text, System.Globalization.CultureInfo.InvariantCulture),
                long.Parse(tr.GetAttribute("data-player-id")!, System.Globalization.CultureInfo.InvariantCulture),
                cells[1].Text, cells[3].Text, int.Parse(cells[5].Text, System.Globalization.CultureInfo.InvariantCulture));
        })];
}
