// One job host in a process of its own, for the multi-host chaos tests (tests/Ladder.Jobs.MultiHost.Tests).
// Usage: Ladder.Jobs.TestNode (--sqlite <path> | --postgres <connectionString>) --host <name> --log <path> [options]
//   --lease-ms <n> (5000), --heartbeat-ms <n> (1000), --rescue-ms <n> (500), --poll-ms <n> (200),
//   --concurrency <n> (4), --prefetch <n> (8), --work-ms <n> (5), --max-rescues <n> (1000),
//   --clock-ahead-ms <n> (0: the queue's clock runs this far ahead of the real one; the log keeps the real clock),
//   --open-retry-ms <n> (60000: PostgreSQL only, how long opening waits for a server that is down or restarting)
// Exits 3 with one line on stderr if the store cannot be opened (within --open-retry-ms for a server that is down).
// Runs a JobProcessor the way a user would (the generic host, AddLadderJobs, a handler registered on the builder) over
// jobs of kind "chaos-job" that the orchestrator enqueued. Each run appends "start <host> <jobId> <attempt> <unix-ns>"
// to the log, does a few milliseconds of work, and appends "end <host> <jobId> <attempt> <unix-ns>" before it returns;
// every line is fsynced before the handler goes on, so a SIGKILL loses no line that was written. Prints "ready" on
// stdout once the processor runs; stops gracefully (exit 0) when stdin closes. Logs (warnings and worse) go to stderr,
// so stdout carries only "ready".
using System.Globalization;
using Ladder.Jobs;
using Ladder.Jobs.TestNode;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

NodeSettings settings;
try
{
    settings = NodeSettings.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"Ladder.Jobs.TestNode: {ex.Message}");
    return 2;
}

var time = TimeProvider.System;
using var runLog = new RunLog(settings.LogPath, settings.Host, time);

// The queue's clock (a skewed host), apart from the log's: the orchestrator compares log lines of all hosts.
TimeProvider queueTime = settings.ClockAhead == TimeSpan.Zero ? time : new AheadTimeProvider(settings.ClockAhead);

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ApplicationName = "Ladder.Jobs.TestNode" });
builder.Logging.ClearProviders();
builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.AddSingleton(queueTime);
builder.Services
    .AddLadderJobs(o =>
    {
        settings.ConfigureStore(o);
        o.LeaseDuration = settings.Lease;
        o.HeartbeatInterval = settings.Heartbeat;
        o.RescueInterval = settings.Rescue;
        o.PollInterval = settings.Poll;
        o.Prefetch = settings.Prefetch;
        // The chaos kills the same job's host more than once now and then; it must not become poison for that.
        o.MaxRescues = settings.MaxRescues;
        o.ShutdownGrace = TimeSpan.FromSeconds(10);
        o.Queues["default"] = settings.Concurrency;
    })
    .AddHandler<ChaosJob>(async (job, context, ct) =>
    {
        runLog.Append("start", context.JobId, context.Attempt);
        await ChaosWork.RunAsync(job, settings.Work, time, ct);
        runLog.Append("end", context.JobId, context.Attempt);
    });

using var host = builder.Build();
try
{
    await host.StartAsync();
}
catch (Exception ex) when (ex is JobStoreException or AggregateException { InnerException: JobStoreException })
{
    // Past OpenRetryLimit (or a problem waiting cannot fix): a clear line and an exit code, not an unhandled crash.
    Console.Error.WriteLine($"Ladder.Jobs.TestNode: the job store cannot be opened: {ex.Message}");
    return 3;
}

Console.Out.WriteLine("ready");
Console.Out.Flush();

// Stdin closing is the orchestrator's "stop": a graceful stop, handlers finish within the shutdown grace.
while (await Console.In.ReadLineAsync() is not null)
{
}

await host.StopAsync();
Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"stopped {runLog.Lines}"));
return 0;
