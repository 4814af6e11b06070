using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Ladder.Sample.Api;
using Ladder.Sample.Domain;

namespace Ladder.Sample.Simulate;

/// <summary>A typed client for the host's JSON API (used by <c>simulate</c> and the integration tests).</summary>
internal sealed class LadderClient(HttpClient http)
{
    public static readonly JsonSerializerOptions Json = CreateJson();

    public HttpClient Http { get; } = http;

    public async Task<Player> CreatePlayerAsync(string name, string country, CancellationToken ct = default)
        => await SendAsync<Player>(HttpMethod.Post, "/api/players", new CreatePlayerRequest(name, country), ct);

    public async Task<Player> UpdatePlayerAsync(long id, string? name, string? country, CancellationToken ct = default)
        => await SendAsync<Player>(HttpMethod.Patch, $"/api/players/{id}", new UpdatePlayerRequest(name, country), ct);

    public async Task<Player> UpdatePreferencesAsync(long id, PreferencesRequest preferences, CancellationToken ct = default)
        => await SendAsync<Player>(HttpMethod.Put, $"/api/players/{id}/preferences", preferences, ct);

    public async Task<ProfileView> GetProfileAsync(long id, CancellationToken ct = default)
        => await SendAsync<ProfileView>(HttpMethod.Get, $"/api/players/{id}", null, ct);

    public async Task<Match> CreateMatchAsync(long player1, Race race1, long player2, Race race2, CancellationToken ct = default)
        => await SendAsync<Match>(HttpMethod.Post, "/api/matches", new CreateMatchRequest(player1, race1.ToName(), player2, race2.ToName(), null), ct);

    public async Task<Match> GetMatchAsync(long id, CancellationToken ct = default)
        => await SendAsync<Match>(HttpMethod.Get, $"/api/matches/{id}", null, ct);

    public async Task<Match> ReportAsync(long id, long winnerId, CancellationToken ct = default)
        => await SendAsync<Match>(HttpMethod.Post, $"/api/matches/{id}/report", new ReportMatchRequest(winnerId, null), ct);

    public async Task<UploadResponse> UploadReplayAsync(long matchId, byte[] replay, CancellationToken ct = default)
    {
        using var content = new ByteArrayContent(replay);
        content.Headers.ContentType = new("application/octet-stream");
        using var response = await Http.PostAsync($"/api/matches/{matchId}/replay", content, ct);
        return await ReadAsync<UploadResponse>(response, ct);
    }

    public async Task<ReplayStatus> GetReplayStatusAsync(string hash, CancellationToken ct = default)
        => await SendAsync<ReplayStatus>(HttpMethod.Get, $"/api/replays/{hash}", null, ct);

    public async Task<LeaderboardView> GetLeaderboardAsync(string? race = null, string? country = null, int page = 1, CancellationToken ct = default)
        => await SendAsync<LeaderboardView>(HttpMethod.Get, $"/api/leaderboard?race={race}&country={country}&page={page}", null, ct);

    public async Task<QueueCounts> GetJobCountsAsync(CancellationToken ct = default)
        => await SendAsync<QueueCounts>(HttpMethod.Get, "/api/jobs", null, ct);

    /// <summary>Every dead job, page after page.</summary>
    public async Task<IReadOnlyList<JobLine>> GetDeadJobsAsync(CancellationToken ct = default)
    {
        var jobs = new List<JobLine>();
        long? after = null;
        do
        {
            var page = await GetDeadJobPageAsync(after, 200, ct);
            jobs.AddRange(page.Jobs);
            after = page.NextAfter;
        }
        while (after is not null);

        return jobs;
    }

    public async Task<DeadJobPage> GetDeadJobPageAsync(long? after = null, int pageSize = 50, CancellationToken ct = default)
        => await SendAsync<DeadJobPage>(HttpMethod.Get, after is { } a ? $"/api/jobs/dead?after={a}&pageSize={pageSize}" : $"/api/jobs/dead?pageSize={pageSize}", null, ct);

    public async Task<ActiveJobs> GetActiveJobsAsync(CancellationToken ct = default)
        => await SendAsync<ActiveJobs>(HttpMethod.Get, "/api/jobs/active", null, ct);

    public async Task<PlayerHistory> GetHistoryAsync(long playerId, int page = 1, CancellationToken ct = default)
        => await SendAsync<PlayerHistory>(HttpMethod.Get, $"/api/players/{playerId}/history?page={page}", null, ct);

    public async Task<IReadOnlyList<RecentResult>> GetRecentResultsAsync(int limit = 10, CancellationToken ct = default)
        => await SendAsync<List<RecentResult>>(HttpMethod.Get, $"/api/matches/recent?limit={limit}", null, ct);

    public async Task<HostInfo> GetHostAsync(CancellationToken ct = default)
        => await SendAsync<HostInfo>(HttpMethod.Get, "/api/host", null, ct);

    public async Task RetryJobAsync(long jobId, CancellationToken ct = default)
        => await SendAsync<JsonElement>(HttpMethod.Post, $"/api/jobs/{jobId}/retry", null, ct);

    public async Task<string> GetHealthAsync(CancellationToken ct = default)
        => (await SendAsync<JsonElement>(HttpMethod.Get, "/api/health", null, ct)).GetProperty("status").GetString()!;

    public async Task<Dictionary<string, long>> GetWorkerStatsAsync(CancellationToken ct = default)
        => await SendAsync<Dictionary<string, long>>(HttpMethod.Get, "/api/workers", null, ct);

    private async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: Json);
        }

        using var response = await Http.SendAsync(request, ct);
        return await ReadAsync<T>(response, ct);
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken ct)
    {
        if (!response.IsSuccessStatusCode)
        {
            var text = await response.Content.ReadAsStringAsync(ct);
            throw new LadderApiException((int)response.StatusCode, text);
        }

        return (await response.Content.ReadFromJsonAsync<T>(Json, ct))!;
    }

    private static JsonSerializerOptions CreateJson()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
        return options;
    }
}

/// <summary>The host answered with an error status; <see cref="Exception.Message"/> holds its problem details.</summary>
internal sealed class LadderApiException(int statusCode, string body) : Exception($"HTTP {statusCode}: {body}")
{
    public int StatusCode { get; } = statusCode;
}
