using Ladder.Jobs.Dashboard.Tests.Support;
using Ladder.Jobs.PostgreSql;
using Ladder.PostgreSql.Testing;
using OpenQA.Selenium;
using OpenQA.Selenium.Support.UI;

namespace Ladder.Jobs.Dashboard.Tests;

/// <summary>
/// Every page in headless Chromium at the narrowest phone width the docs promise (360 px) and a laptop's (1280 px): no two visible elements overlap,
/// nothing scrolls the page sideways, markup in user data stays text, and the retry button works from a real browser
/// (its anti-forgery cookie and form token). The same pass runs on both stores: SQLite, and a throwaway PostgreSQL server
/// (issue #14: "works on both stores"). The SQLite pass's screenshots go to docs/jobs/dashboard/ for the docs.
/// </summary>
[TestFixture(Store.Sqlite)]
[TestFixture(Store.PostgreSql)]
[NonParallelizable]
public sealed class BrowserTests(BrowserTests.Store store)
{
    private static readonly int[] Widths = [360, 1280];

    private PostgresServer? _server;

    public enum Store
    {
        Sqlite,
        PostgreSql,
    }

    [OneTimeSetUp]
    public async Task StartServerAsync()
    {
        if (store == Store.PostgreSql)
        {
            _server = await PostgresServer.StartAsync();
        }
    }

    [OneTimeTearDown]
    public async Task StopServerAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Test]
    [CancelAfter(400_000)]
    public async Task EveryPage_LaysOutWithoutOverlaps_AtPhoneAndLaptopWidths(CancellationToken ct)
    {
        HeadlessChromium.IsInstalled.Should().BeTrue("the page test needs Debian's chromium and chromedriver (.ci/install-deps)");
        var database = _server is null ? null : await _server.CreateDatabaseAsync("browser", ct);
        await using var host = await DashboardHost.StartAsync(
            static o => o.PollInterval = TimeSpan.FromSeconds(1),
            configureJobs: database is null ? null : o =>
            {
                o.Path = string.Empty;
                o.UsePostgres(database);
            });
        host.Queue.Store.GetType().Name.Should().Be(store == Store.Sqlite ? "SqliteJobStore" : nameof(PostgresJobStore));
        var seeded = await SeedAsync(host, ct);

        using var chromium = new HeadlessChromium(1280, 1000, hideScrollbars: true);
        var driver = chromium.Driver;
        var wait = new WebDriverWait(driver, TimeSpan.FromSeconds(90));
        wait.IgnoreExceptionTypes(typeof(StaleElementReferenceException), typeof(NoSuchElementException));

        // The chart fills in while the overview is open: it refreshes itself every poll interval, one sample each time.
        LayOut(chromium, 1280, 900);
        driver.Navigate().GoToUrl(new Uri(host.Url, "jobs"));
        for (var round = 2; round <= 5; round++)
        {
            await host.Queue.EnqueueBatchAsync([.. Enumerable.Range(0, 4 * round).Select(i => JobRequest.For(new Echo($"burst {round}.{i}"), new JobOptions { Queue = "replays" }))], ct);
            var samples = round;
            // Read in one script call: the chart is redrawn every second, and on a loaded machine a find-then-read
            // pair of WebDriver calls can land on either side of a redraw every time (a stale element, again and again).
            wait.Until(d => ((IJavaScriptExecutor)d).ExecuteScript("return document.querySelector('figure.chart figcaption .note')?.textContent ?? '';") is string note
                && note.StartsWith($"{samples} samples", StringComparison.Ordinal));
        }

        driver.FindElements(By.CssSelector("figure.chart svg polyline")).Should().HaveCount(5);

        var pages = new (string Name, string Path, string Ready)[]
        {
            ("overview", "jobs", "figure.chart svg"),
            ("jobs-ready", "jobs/jobs?state=ready", "table.jobs tbody tr"),
            ("jobs-dead", "jobs/jobs?state=dead", "table.jobs tbody tr"),
            ("job-dead", $"jobs/jobs/{seeded.Dead}", "ol.attempts li"),
            ("job-scheduled", $"jobs/jobs/{seeded.Scheduled}", "form.cancel"),
            ("schedules", "jobs/schedules", "table.schedules tbody tr"),
            ("keys", "jobs/keys", "section h2"),
        };
        foreach (var width in Widths)
        {
            LayOut(chromium, width, 900);
            foreach (var (name, path, ready) in pages)
            {
                driver.Navigate().GoToUrl(new Uri(host.Url, path));
                wait.Until(d => d.FindElements(By.CssSelector(ready)).Count > 0);
                var layout = (Dictionary<string, object>)driver.ExecuteScript("return (" + LayoutScript.Trim().TrimEnd(';') + "\n);")!;
                Convert.ToInt64(layout["viewport"], System.Globalization.CultureInfo.InvariantCulture).Should().Be(width, $"{name} is laid out at {width} px");
                Convert.ToInt64(layout["checked"], System.Globalization.CultureInfo.InvariantCulture).Should().BeGreaterThan(10, $"{name} has elements to check");
                ((IEnumerable<object>)layout["problems"]).Should().BeEmpty($"{name} at {width} px");
                if (name == "schedules")
                {
                    // A table wider than a phone scrolls inside its box; its last column (the actions) must not be out there.
                    var buttons = (IReadOnlyCollection<object>)driver.ExecuteScript(
                        "return [...document.querySelectorAll('table.schedules form button')].map(b => { const r = b.getBoundingClientRect(); return r.width > 0 && r.left >= 0 && r.right <= window.innerWidth; });")!;
                    buttons.Should().HaveCountGreaterThan(1).And.AllSatisfy(inView => inView.Should().Be(true, $"every Pause and Resume is in view at {width} px, without scrolling the table"));
                }

                if (store == Store.Sqlite)
                {
                    chromium.SaveScreenshot($"{name}-{width}", Path.Combine("docs", "jobs", "dashboard"));
                }
            }
        }

        // The check has teeth: the same script finds an overlap made on purpose, and a page made too wide.
        driver.Navigate().GoToUrl(new Uri(host.Url, "jobs"));
        wait.Until(d => d.FindElements(By.CssSelector("section.cards")).Count > 0);
        driver.ExecuteScript("document.querySelector('h1').style.transform = 'translateY(40px)'; document.querySelector('footer').style.minWidth = '2000px';");
        var broken = (Dictionary<string, object>)driver.ExecuteScript("return (" + LayoutScript.Trim().TrimEnd(';') + "\n);")!;
        ((IEnumerable<object>)broken["problems"]).Select(static p => (string)p).Should()
            .Contain(p => p.StartsWith("overlap: h1", StringComparison.Ordinal)).And.Contain(p => p.StartsWith("the page is", StringComparison.Ordinal));

        // User data with markup is text in the browser too: no element was made from it, no script ran (an alert would throw).
        driver.Navigate().GoToUrl(new Uri(host.Url, $"jobs/jobs/{seeded.Dead}"));
        driver.FindElements(By.CssSelector("main script, main img")).Should().BeEmpty();
        driver.FindElement(By.CssSelector("pre.payload")).Text.Should().Contain("<img src=x onerror=alert(1)>");
        driver.FindElement(By.XPath("//dt[.='Unique key']/following-sibling::dd[1]")).Text.Should().Be("<b>key</b>");

        // The retry button, from the browser: the job is queued again, the page says so, and this time it succeeds.
        host.BoomFails = false;
        driver.FindElement(By.CssSelector("form.retry button")).Click();
        wait.Until(d => d.FindElement(By.CssSelector("p.notice")).Text.StartsWith("Queued again", StringComparison.Ordinal));
        (await host.Queue.WaitForFinishAsync(seeded.Dead, ct))!.Summary.State.Should().Be(JobState.Succeeded);

        // Pause, from the browser: the store has it paused, and the row offers Resume.
        driver.Navigate().GoToUrl(new Uri(host.Url, "jobs/schedules"));
        driver.FindElement(By.CssSelector("tr[data-schedule='nightly-ratings'] form.pause button")).Click();
        wait.Until(d => d.FindElement(By.CssSelector("p.notice")).Text.StartsWith("Paused nightly-ratings", StringComparison.Ordinal));
        driver.FindElements(By.CssSelector("tr[data-schedule='nightly-ratings'] form.resume")).Should().ContainSingle();
        (await host.Queue.GetSchedulesAsync(ct)).Single(s => s.Name == "nightly-ratings").Paused.Should().BeTrue();
    }

    private static async Task<(long Dead, long Scheduled)> SeedAsync(DashboardHost host, CancellationToken ct)
    {
        foreach (var reason in new[] { "corrupt replay: the header's checksum does not match", "player 4711 not found", "map 'Fighting Spirit' is not in the pool" })
        {
            await host.DeadJobAsync(reason, ct, uniqueKey: $"replay-{reason.Length:x4}");
        }

        // The last dead job carries markup in its error and key: the browser must show them as text.
        var dead = await host.DeadJobAsync("<img src=x onerror=alert(1)>", ct, uniqueKey: "<b>key</b>");
        for (var i = 0; i < 4; i++)
        {
            await host.SucceededJobAsync($"notify {i}", ct);
        }

        // "replays" has no processor here: its jobs stay ready. The scheduled ones wait an hour.
        await host.Queue.EnqueueBatchAsync(
            [.. Enumerable.Range(0, 14).Select(i => new JobRequest("parse-replay", $$"""{"hash":"{{i:x8}}e3b0c44298fc1c149afbf4c8996fb924","matchId":{{1000 + i}}}""", new JobOptions { Queue = "replays", UniqueKey = $"replay-{i:x8}" }))],
            ct);
        // Keyed jobs in "replays" (no processor: they wait), some claimed as another host would, for the Keys page; and
        // a rate limit.
        await host.Queue.EnqueueBatchAsync(
            [.. Enumerable.Range(0, 12).Select(i => new JobRequest("parse-replay", "{}", new JobOptions { Queue = "replays", ConcurrencyKey = $"player:{4700 + (i % 6)}", ConcurrencyLimit = 2, Priority = 1 }))],
            ct);
        await host.Queue.Store.ClaimAsync(new Ladder.Jobs.Storage.ClaimRequest("replays", 5, 5, TimeSpan.FromHours(1)), null);
        await host.Queue.SetRateLimitAsync(new JobRateLimit(RateLimitScope.Queue, "emails", 50, TimeSpan.FromSeconds(1)), ct);
        var scheduled = await host.ScheduledJobAsync("tomorrow's digest", ct);
        await host.ScheduledJobAsync("weekly report", ct);
        await host.Queue.CancelAsync(await host.ScheduledJobAsync("never mind", ct), ct);
        await SchedulesPageTests.SeedSchedulesAsync(host, ct);
        return (dead, scheduled);
    }

    private static string LayoutScript
    {
        get
        {
            using var stream = typeof(BrowserTests).Assembly.GetManifestResourceStream("Layout.js")!;
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
    }

    // A phone's width is emulated as a mobile viewport; the window is made big enough that the emulated viewport fits.
    private static void LayOut(HeadlessChromium chromium, int width, int height)
    {
        chromium.Driver.Manage().Window.Size = new System.Drawing.Size(Math.Max(width, 500), height + 200);
        chromium.SetViewport(width, height, mobile: width < 600);
    }
}
