using Ladder.Jobs;
using Ladder.Jobs.Dashboard;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

/// <summary>Mounts the Ladder.Jobs dashboard from its package (the ASP.NET Core framework comes with it) and reads its overview on loopback.</summary>
internal static class DashboardUsage
{
    public static async Task RunAsync(List<string> failures)
    {
        var folder = Path.Combine(Path.GetTempPath(), "ladder-consumer-dashboard-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = folder });
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Services.AddAntiforgery();
            builder.Services.AddLadderJobs(o => o.Path = Path.Combine(folder, "jobs.db"));
            await using var app = builder.Build();
            app.MapLadderJobsDashboard("/jobs");
            await app.StartAsync();
            try
            {
                var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
                await app.Services.GetRequiredService<JobQueue>().EnqueueAsync(new JobRequest("consumer.dashboard", "{}", new JobOptions { Queue = "idle" }));
                using var http = new HttpClient { BaseAddress = new Uri(address) };
                var page = await http.GetStringAsync("/jobs");
                Check(page.Contains("<h1>Overview</h1>", StringComparison.Ordinal) && page.Contains("<th scope=\"row\">idle</th>", StringComparison.Ordinal),
                    "Ladder.Jobs.Dashboard: the overview does not show the queue", failures);
                var css = await http.GetAsync(System.Text.RegularExpressions.Regex.Match(page, "/jobs/assets/dashboard\\.css\\?v=[0-9a-f]+").Value);
                Check(css.IsSuccessStatusCode, $"Ladder.Jobs.Dashboard: its stylesheet answered {(int)css.StatusCode}", failures);
                Console.WriteLine("Ladder.Jobs.Dashboard: mounted at /jobs and served the overview and its stylesheet from the package");
            }
            finally
            {
                await app.StopAsync();
            }
        }
        catch (Exception e)
        {
            failures.Add($"Ladder.Jobs.Dashboard: {e.GetType().Name}: {e.Message}");
        }
        finally
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // The OS temp cleanup gets it.
            }
        }
    }

    private static void Check(bool condition, string failure, List<string> failures)
    {
        if (!condition)
        {
            failures.Add(failure);
        }
    }
}
