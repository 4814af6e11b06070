using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Ladder.Workers.Tests;

public sealed class RegistrationTests
{
    [Test, CancelAfter(60_000)]
    public async Task AddLadderWorkers_RegistersOnePoolThatRunsCalls(CancellationToken ct)
    {
        var services = new ServiceCollection().AddLogging();
        services.AddLadderWorkers(o => Configure(o, workers: 1));
        services.AddLadderWorkers(o => o.WarmSpare = false);
        await using var provider = services.BuildServiceProvider();

        var pool = provider.GetRequiredService<WorkerPool>();
        var result = await pool.InvokeAsync<EchoRequest, EchoResponse>("echo", new EchoRequest("di"), Support.Generous, ct);

        result.Value.Text.Should().Be("di");
        provider.GetServices<IHostedService>().Should().ContainSingle();
        services.Count(d => d.ServiceType == typeof(WorkerPool)).Should().Be(1);
        await pool.WhenReadyAsync(ct);
        pool.GetStats().SpareReady.Should().BeFalse("the second call's configuration applies too");
    }

    [Test]
    public void AddLadderWorkers_WithBadOptions_FailsValidationWithEveryFailure()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddLadderWorkers(o =>
        {
            o.WorkerCount = 0;
            o.QueueCapacity = -1;
        });
        using var provider = services.BuildServiceProvider();

        var error = FluentActions.Invoking(() => provider.GetRequiredService<IOptions<WorkerPoolOptions>>().Value)
            .Should().Throw<OptionsValidationException>().Which;

        error.Failures.Should().HaveCount(3);
        error.Failures.Should().Contain(f => f.Contains("WorkerPath", StringComparison.Ordinal));
    }

    [Test, CancelAfter(60_000)]
    public async Task SameExecutablePattern_WithTheAppHostAndTheSwitch_RunsCalls(CancellationToken ct)
    {
        // The sample's pattern: the app starts itself with --ladder-worker (here the dummy's native apphost).
        var options = Support.Options(spare: false);
        options.WorkerPath = Path.ChangeExtension(Support.TestWorkerPath, null);
        await using var pool = await Support.StartAsync(options, ct);

        (await pool.PidAsync()).Should().BePositive();
        WorkerHost.IsWorkerInvocation(["--port", "5000", WorkerHost.WorkerSwitch]).Should().BeTrue();
        WorkerHost.IsWorkerInvocation(["--port", "5000"]).Should().BeFalse();
    }

    private static void Configure(WorkerPoolOptions options, int workers)
    {
        var template = Support.Options(workers);
        options.WorkerPath = template.WorkerPath;
        options.Arguments.Add(WorkerHost.WorkerSwitch);
        options.WorkerCount = workers;
    }
}
