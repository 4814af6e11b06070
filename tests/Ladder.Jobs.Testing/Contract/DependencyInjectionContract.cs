using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Ladder.Jobs.Testing.Contract;

/// <summary>The queue in a host: a store set with UseStore, handlers from the container, the health check.</summary>
public abstract class DependencyInjectionContract : JobStoreContract
{
    public sealed class EchoHandler(Recorder recorder) : IJobHandler<Echo>
    {
        public Task HandleAsync(Echo args, JobContext context, CancellationToken cancellationToken)
        {
            recorder.Seen.TrySetResult(args.N);
            return Task.CompletedTask;
        }
    }

    public sealed class Recorder
    {
        public TaskCompletionSource<int> Seen { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AddLadderJobs_InAHost_RunsTypedAndDelegateHandlers(CancellationToken ct)
    {
        var other = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var store = await Factory.CreateAsync(TimeProvider.System);
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<Recorder>();
        builder.Services.AddLadderJobs(o => o.UseStore(() => store))
            .AddHandler<Echo, EchoHandler>()
            .AddHandler<Other>((args, context, _) =>
            {
                context.Services.Should().NotBeNull();
                other.TrySetResult(args.Text);
                return Task.CompletedTask;
            });
        builder.Services.AddLadderJobs(o => o.Queues["default"] = 2);
        using var host = builder.Build();
        await host.StartAsync(ct);

        var queue = host.Services.GetRequiredService<JobQueue>();
        await queue.EnqueueAsync(new Echo(9), cancellationToken: ct);
        await queue.EnqueueAsync(new Other("hi"), cancellationToken: ct);

        (await host.Services.GetRequiredService<Recorder>().Seen.Task.WaitAsync(ct)).Should().Be(9);
        (await other.Task.WaitAsync(ct)).Should().Be("hi");
        host.Services.GetServices<IHostedService>().OfType<JobProcessor>().Should().ContainSingle();
        queue.Options.Queues["default"].Should().Be(2);
        queue.Store.Should().BeSameAs(store);
        var health = await host.Services.GetRequiredService<JobQueueHealthCheck>().CheckHealthAsync(new HealthCheckContext(), ct);
        health.Status.Should().Be(HealthStatus.Healthy);
        await host.StopAsync(ct);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task HealthCheck_AfterTheQueueIsDisposed_IsUnhealthy(CancellationToken ct)
    {
        var queue = await OpenAsync();
        var check = new JobQueueHealthCheck(queue);
        (await check.CheckHealthAsync(new HealthCheckContext(), ct)).Status.Should().Be(HealthStatus.Healthy);

        await queue.DisposeAsync();

        (await check.CheckHealthAsync(new HealthCheckContext(), ct)).Status.Should().Be(HealthStatus.Unhealthy);
    }
}
