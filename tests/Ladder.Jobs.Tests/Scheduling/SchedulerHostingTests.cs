using Ladder.Jobs.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Ladder.Jobs.Tests.Scheduling;

/// <summary>AddSchedule and AddScheduler: the scheduler is a hosted service that stores the declared schedules at start.</summary>
public sealed class SchedulerHostingTests : TempFolderTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task AddSchedule_RegistersOneScheduler_ThatStoresTheDeclaredSchedulesWhenTheHostStarts(CancellationToken ct)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddLadderJobs(o => o.Path = Folder.File("jobs.db"))
            .AddSchedule(JobSchedule.Cron("nightly", "30 2 * * *", new JobRequest("report", "{}"), TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin")))
            .AddSchedule(JobSchedule.Every("sweep", TimeSpan.FromMinutes(5), new JobRequest("sweep", "{}")))
            .AddScheduler(o => o.MissedTickTolerance = TimeSpan.FromMinutes(2));
        using var host = builder.Build();
        host.Services.GetServices<IHostedService>().OfType<JobScheduler>().Should().ContainSingle();
        host.Services.GetRequiredService<IOptions<JobSchedulerOptions>>().Value.Schedules.Should().HaveCount(2);

        await host.StartAsync(ct);
        var schedules = await host.Services.GetRequiredService<JobQueue>().GetSchedulesAsync(ct);
        await host.StopAsync(ct);

        schedules.Select(s => (s.Name, s.CronExpression, s.TimeZoneId, s.DeclaredInCode)).Should().Equal(("nightly", "30 2 * * *", "Europe/Berlin", true), ("sweep", null, "UTC", true));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task TwoDeclarationsOfOneName_FailTheHostsStart_NamingIt(CancellationToken ct)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddLadderJobs(o => o.Path = Folder.File("jobs.db"))
            .AddSchedule(JobSchedule.Every("sweep", TimeSpan.FromMinutes(5), new JobRequest("sweep", "{}")))
            .AddSchedule(JobSchedule.Every("sweep", TimeSpan.FromMinutes(10), new JobRequest("sweep", "{}")));
        using var host = builder.Build();

        var start = () => host.StartAsync(ct);

        (await start.Should().ThrowAsync<OptionsValidationException>()).WithMessage("*'sweep' is declared twice*");
    }
}
