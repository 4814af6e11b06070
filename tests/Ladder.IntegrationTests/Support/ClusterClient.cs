using System.Net.Http.Json;
using Ladder.Sample.Api;

namespace Ladder.IntegrationTests.Support;

/// <summary>GET /api/cluster, as the page reads it (with the host's JSON settings: camelCase, enums as names).</summary>
internal static class ClusterClient
{
    private static readonly System.Text.Json.JsonSerializerOptions Json = new(System.Text.Json.JsonSerializerDefaults.Web);

    public static async Task<ClusterView> GetClusterAsync(Uri host, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = host, Timeout = TimeSpan.FromSeconds(60) };
        return (await http.GetFromJsonAsync<ClusterView>("/api/cluster", Json, ct))!;
    }
}
