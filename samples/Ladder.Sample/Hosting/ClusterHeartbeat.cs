using System.Globalization;
using System.Text.Json;
using Ladder.Sample.Api;
using Ladder.Sample.Domain;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Ladder.Sample.Hosting;

/// <summary>
/// Registers this host in <c>ladder_hosts</c> once it listens, refreshes its row every
/// <see cref="LadderOptions.HeartbeatInterval"/> with its pool and running jobs, and removes it on a graceful stop.
/// A host that is killed leaves its row behind; the panel shows it as gone once it has missed three heartbeats.
/// </summary>
internal sealed partial class ClusterHeartbeat(
    LadderDatabase db, ReplayParsing parsing, LocalRuns runs, HostStart start, IServer server, IHostApplicationLifetime lifetime,
    IOptions<LadderOptions> options, TimeProvider timeProvider, ILogger<ClusterHeartbeat> logger) : BackgroundService
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private string? _name;

    /// <summary>"machine:port", the same name <see cref="ServedBy"/> puts in every answer (null until the host listens).</summary>
    public string? Name => _name;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!await StartedAsync(stoppingToken))
        {
            return;
        }

        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        if (address is null || !Uri.TryCreate(address, UriKind.Absolute, out var url))
        {
            return;
        }

        _name = string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}:{url.Port}");
        using var timer = new PeriodicTimer(options.Value.HeartbeatInterval, timeProvider);
        do
        {
            try
            {
                await BeatAsync(url, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The database may be restarting: the next beat tries again; the panel shows the gap meanwhile.
                Log.BeatFailed(logger, e.Message);
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_name is { } name)
        {
            try
            {
                await db.RemoveHostAsync(name, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log.BeatFailed(logger, e.Message);
            }
        }
    }

    private async Task BeatAsync(Uri url, CancellationToken cancellationToken)
    {
        var stats = parsing.Stats;
        var status = new ClusterHostStatus(stats.Workers, stats.BusyWorkers, runs.Snapshot());
        await db.UpsertHostAsync(new HostRow(
            _name!, url.GetLeftPart(UriPartial.Authority), Environment.ProcessId, Iso(start.At), Iso(timeProvider.GetUtcNow()),
            JsonSerializer.Serialize(status, Json)), cancellationToken);
    }

    private async Task<bool> StartedAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = lifetime.ApplicationStarted.Register(static s => ((TaskCompletionSource)s!).TrySetResult(), started);
        try
        {
            await started.Task.WaitAsync(stoppingToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    internal static string Iso(DateTimeOffset at) => at.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    private static partial class Log
    {
        [LoggerMessage(30, LogLevel.Warning, "Cluster heartbeat failed: {Reason}")]
        public static partial void BeatFailed(ILogger logger, string reason);
    }
}
