using Ladder.Sample.Hosting;
using Ladder.Sample.Simulate;
using Ladder.Workers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Ladder.IntegrationTests.Support;

/// <summary>
/// The sample host run in the test's process (real HTTP on a loopback port, real SQLite files in <c>folder</c>), for a
/// test that reaches into it: replace a seam in <c>services</c> to hold a request at the exact point of a race.
/// </summary>
internal sealed class InProcessHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _http;

    private InProcessHost(WebApplication app, HttpClient http)
    {
        _app = app;
        _http = http;
        Client = new LadderClient(http);
    }

    public LadderClient Client { get; }

    public static async Task<InProcessHost> StartAsync(string folder, string[] args, Action<IServiceCollection> services, CancellationToken ct)
    {
        var app = await LadderHost.BuildAsync(
            ["--urls", "http://127.0.0.1:0", "--data", folder, "--Ladder:DemoData=false", "--Ladder:WorkerCount=1", .. args],
            builder =>
            {
                services(builder.Services);

                // In-process the entry assembly is the test host: point the pool at the sample's own executable.
                builder.Services.PostConfigure<WorkerPoolOptions>(static o =>
                {
                    o.WorkerPath = SampleHostProcess.HostAssembly;
                    o.Arguments.Clear();
                    o.Arguments.Add(WorkerHost.WorkerSwitch);
                });
            });
        try
        {
            await app.StartAsync(ct);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new InProcessHost(app, new HttpClient { BaseAddress = new Uri(url) });
    }

    public Task StopAsync(CancellationToken ct) => _app.StopAsync(ct);

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _app.DisposeAsync();
    }
}

/// <summary>
/// Holds the first call of <see cref="HoldAsync"/> after <see cref="Arm"/> until <see cref="Release"/>; every other call
/// passes. <see cref="Reached"/> completes when the held call arrives.
/// </summary>
internal sealed class HoldOnce
{
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _armed;

    public Task Reached => _reached.Task;

    public void Arm() => Volatile.Write(ref _armed, 1);

    public void Release() => _release.TrySetResult();

    public async ValueTask HoldAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _armed, 0) == 1)
        {
            _reached.TrySetResult();
            await _release.Task.WaitAsync(cancellationToken);
        }
    }
}
