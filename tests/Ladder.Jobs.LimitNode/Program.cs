// One job host in a process of its own, for the limits tests (docs/jobs/concurrency.md).
// Usage: Ladder.Jobs.LimitNode (--sqlite <path> | --postgres <connectionString> --schema <name>) --host <name> --log <path>
//   [--concurrency <n> (8)] [--prefetch <n> (8)] [--work-ms <n> (20)] [--poll-ms <n> (50)]
// Runs a JobProcessor through the generic host and AddLadderJobs over jobs of kind "limit-job" that the test enqueued
// (with their concurrency keys, or in a rate-limited queue). Each run appends "start <host> <jobId> <unix-ns>", waits
// --work-ms, and appends "end <host> <jobId> <unix-ns>". Prints "ready" once the processor runs; stops gracefully
// (exit 0) when stdin closes, after flushing its log.
using System.Globalization;
using Ladder.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

var values = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 0; i + 1 < args.Length; i += 2)
{
    values[args[i].TrimStart('-')] = args[i + 1];
}

string? Take(string name) => values.TryGetValue(name, out var value) ? value : null;
int Number(string name, int fallback) => Take(name) is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;
if (Take("host") is not { } hostName || Take("log") is not { } logPath || (Take("sqlite") is null) == (Take("postgres") is null))
{
    Console.Error.WriteLine("Ladder.Jobs.LimitNode: --host, --log and one of --sqlite <path> or --postgres <connectionString> --schema <name> are required");
    return 2;
}

var work = TimeSpan.FromMilliseconds(Number("work-ms", 20));
var time = TimeProvider.System;
var log = new List<string>(4096);
var logLock = new Lock();
void Append(string what, long id)
{
    var unixNs = (time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;
    lock (logLock)
    {
        log.Add(string.Create(CultureInfo.InvariantCulture, $"{what} {hostName} {id} {unixNs}"));
    }
}

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ApplicationName = "Ladder.Jobs.LimitNode" });
builder.Logging.ClearProviders();
builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services
    .AddLadderJobs(o =>
    {
        if (Take("sqlite") is { } path)
        {
            o.Path = path;
        }
        else
        {
            o.UsePostgres(Take("postgres")!, s => s.Schema = Take("schema") ?? "ladder_jobs");
        }

        o.PollInterval = TimeSpan.FromMilliseconds(Number("poll-ms", 50));
        o.Prefetch = Number("prefetch", 8);
        o.ShutdownGrace = TimeSpan.FromSeconds(10);
        o.Queues["default"] = Number("concurrency", 8);
        o.Queues["rated"] = Number("concurrency", 8);
    })
    .AddHandler<LimitJob>(async (_, context, ct) =>
    {
        Append("start", context.JobId);
        await Task.Delay(work, time, ct);
        Append("end", context.JobId);
    });

using var host = builder.Build();
await host.StartAsync();
Console.Out.WriteLine("ready");
Console.Out.Flush();

while (await Console.In.ReadLineAsync() is not null)
{
}

await host.StopAsync();
lock (logLock)
{
    File.WriteAllLines(logPath, log);
}

return 0;

/// <summary>A limits-test job: its number.</summary>
/// <param name="Number">The job number.</param>
[JobKind("limit-job")]
internal sealed record LimitJob(int Number);
