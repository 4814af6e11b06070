using System.Net;
using Ladder.IntegrationTests.Support;

namespace Ladder.IntegrationTests.Scenarios;

/// <summary>The sample host mounts the Ladder.Jobs dashboard at /jobs and links to it from its page.</summary>
[TestFixture]
[NonParallelizable]
public sealed class JobsDashboardTests
{
    [Test]
    [CancelAfter(120_000)]
    public async Task SampleHost_ServesTheJobsDashboardAtJobs_AndItsPageLinksToIt(CancellationToken ct)
    {
        using var folder = new TempFolder();
        await using var host = await SampleHostProcess.StartAsync(folder.Path, ct, "--Ladder:WorkerCount=1");
        using var http = new HttpClient { BaseAddress = host.Url };

        (await http.GetStringAsync("/", ct)).Should().Contain("<a id=\"jobs-dashboard-link\" href=\"/jobs\">");
        using var dashboard = await http.GetAsync("/jobs", ct);
        dashboard.StatusCode.Should().Be(HttpStatusCode.OK, "the test connects from loopback, which the dashboard lets in by default");
        (await dashboard.Content.ReadAsStringAsync(ct)).Should().Contain("<title>Overview · Ladder sample jobs</title>").And.Contain("<h1>Overview</h1>");
    }
}
