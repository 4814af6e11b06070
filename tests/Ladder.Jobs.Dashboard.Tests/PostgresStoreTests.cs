using System.Net;
using Ladder.Jobs.Dashboard.Tests.Support;
using Ladder.Jobs.PostgreSql;
using Ladder.PostgreSql.Testing;

namespace Ladder.Jobs.Dashboard.Tests;

/// <summary>
/// The dashboard over the PostgreSQL store (issue #14: "works on both stores"): the same host as the other tests with
/// its queue switched by one line to a throwaway PostgreSQL server; every page renders from that store and an action
/// changes it.
/// </summary>
[TestFixture]
public sealed class PostgresStoreTests
{
    private PostgresServer _server = null!;

    [OneTimeSetUp]
    public async Task StartServerAsync() => _server = await PostgresServer.StartAsync();

    [OneTimeTearDown]
    public async Task StopServerAsync() => await _server.DisposeAsync();

    [Test]
    [CancelAfter(120_000)]
    public async Task EveryPage_RendersFromThePostgresStore_AndRetryChangesIt(CancellationToken ct)
    {
        var database = await _server.CreateDatabaseAsync("dashboard", ct);
        await using var host = await DashboardHost.StartAsync(configureJobs: o =>
        {
            o.Path = string.Empty;
            o.UsePostgres(database);
        });
        host.Queue.Store.Should().BeOfType<PostgresJobStore>();
        var dead = await host.DeadJobAsync("corrupt replay on postgres", ct, uniqueKey: "replay-pg-1");
        var done = await host.SucceededJobAsync("parsed on postgres", ct);
        var ready = await host.ReadyJobAsync("waiting on postgres", ct, uniqueKey: "replay-pg-2");
        await host.Queue.EnqueueAsync(new Echo("keyed"), new JobOptions { Queue = "idle", ConcurrencyKey = "player:7", ConcurrencyLimit = 2 }, ct);
        await SchedulesPageTests.SeedSchedulesAsync(host, ct);

        var overview = await host.GetPageAsync("/jobs", ct);
        overview.Should().Contain("postgresql://127.0.0.1:", "the overview names the store it reads").And.Contain("figure class=\"chart\"");
        (await host.GetPageAsync("/jobs/jobs?state=dead", ct)).Should().Contain($"/jobs/jobs/{dead}\"");
        (await host.GetPageAsync("/jobs/jobs?state=succeeded", ct)).Should().Contain($"/jobs/jobs/{done}\"");
        (await host.GetPageAsync("/jobs/jobs?state=ready&key=replay-pg", ct)).Should().Contain($"/jobs/jobs/{ready}\"").And.NotContain($"/jobs/jobs/{dead}\"");
        var deadPage = await host.GetPageAsync($"/jobs/jobs/{dead}", ct);
        deadPage.Should().Contain("corrupt replay on postgres").And.Contain("replay-pg-1");
        (await host.GetPageAsync("/jobs/schedules", ct)).Should().Contain("nightly-ratings").And.Contain("Europe/Berlin").And.Contain(">paused<");
        (await host.GetPageAsync("/jobs/keys", ct)).Should().Contain("player:7");

        await host.StopProcessingAsync(ct);
        using var response = await host.PostAsync($"/jobs/jobs/{dead}/retry", DashboardHost.FormToken(deadPage), ct);

        response.StatusCode.Should().Be(HttpStatusCode.SeeOther);
        (await host.Queue.GetJobAsync(dead, ct))!.Summary.State.Should().Be(JobState.Ready, "the retry went to the PostgreSQL store");
    }
}
