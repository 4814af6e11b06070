using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Ladder.IntegrationTests.Support;

namespace Ladder.IntegrationTests.Scenarios;

/// <summary>
/// Every error the API answers, including the ones ASP.NET Core produces itself (a body it cannot read, a query value
/// it cannot bind, no route, a wrong method), is a problem details document with a readable <c>detail</c>.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ApiErrorTests
{
    private TempFolder _folder = null!;
    private SampleHostProcess _host = null!;

    [OneTimeSetUp]
    public async Task StartHost()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        _folder = new TempFolder();
        _host = await SampleHostProcess.StartAsync(_folder.Path, timeout.Token, "--Ladder:WorkerCount=1");
    }

    [OneTimeTearDown]
    public async Task StopHost()
    {
        await _host.DisposeAsync();
        _folder.Dispose();
    }

    [TestCase("POST", "/api/players", """{"name": "Sea", "country": """, "application/json", 400, "JSON")]
    [TestCase("POST", "/api/players", """{"name": 42, "country": "KR"}""", "application/json", 400, "$.name")]
    [TestCase("POST", "/api/players", "", "application/json", 400, "needs a JSON body")]
    [TestCase("POST", "/api/players", "name=Sea", "text/plain", 415, "application/json")]
    [TestCase("POST", "/api/matches", """{"player1Id": "one", "race1": "zerg"}""", "application/json", 400, "$.player1Id")]
    [TestCase("GET", "/api/leaderboard?page=abc", null, null, 400, "abc")]
    [TestCase("GET", "/api/players/abc", null, null, 404, "/api/players/abc")]
    [TestCase("GET", "/api/no-such-thing", null, null, 404, "/api/no-such-thing")]
    [TestCase("DELETE", "/api/leaderboard", null, null, 405, "GET")]
    [TestCase("GET", "/api/leaderboard?sort=elo", null, null, 400, "'elo' is not a column")]
    [TestCase("GET", "/api/leaderboard?sort=name&dir=up", null, null, 400, "'up' is not a sort direction")]
    [TestCase("GET", "/api/leaderboard?name=abcdefghijklmnopqrstuvwxyz", null, null, 400, "at most 24 characters")]
    [TestCase("GET", "/api/players/987654/history", null, null, 404, "no player 987654")]
    [TestCase("GET", "/api/players/1/history?page=0", null, null, 400, "page starts at 1")]
    [TestCase("GET", "/api/matches/recent?limit=0", null, null, 400, "limit is 1 to 100")]
    [TestCase("GET", "/api/jobs/dead?pageSize=201", null, null, 400, "pageSize is 1 to 200")]
    [TestCase("GET", "/api/jobs/dead?after=-1", null, null, 400, "after is a job id")]
    [TestCase("GET", "/api/jobs/dead?after=x", null, null, 400, "after")]
    [CancelAfter(60_000)]
    public async Task Api_AnswersEveryError_WithProblemDetailsThatSayWhatWentWrong(
        string method, string path, string? body, string? contentType, int status, string detailMentions, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = _host.Url, Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType!);
        }

        using var response = await http.SendAsync(request, ct);
        var text = await response.Content.ReadAsStringAsync(ct);

        ((int)response.StatusCode).Should().Be(status, text);
        response.Content.Headers.ContentType?.MediaType.Should().Be("application/problem+json", text);
        using var problem = JsonDocument.Parse(text);
        problem.RootElement.GetProperty("status").GetInt32().Should().Be(status, text);
        problem.RootElement.TryGetProperty("detail", out var detail).Should().BeTrue($"every error says what went wrong: {text}");
        detail.GetString().Should().Contain(detailMentions, text);
    }
}
