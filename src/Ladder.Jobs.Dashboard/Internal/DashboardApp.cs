using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ladder.Jobs.Dashboard.Internal;

/// <summary>One mounted dashboard: its options, its prefix, its counts history and its routes.</summary>
internal sealed partial class DashboardApp
{
    public DashboardApp(LadderJobsDashboardOptions options, string prefix, IServiceProvider services)
    {
        Options = options;
        Prefix = prefix;
        Services = services;
        Time = services.GetService<TimeProvider>() ?? TimeProvider.System;
        Logger = services.GetService<ILoggerFactory>()?.CreateLogger("Ladder.Jobs.Dashboard") ?? NullLogger.Instance;
        History = new CountsHistory(options.ChartSamples, options.PollInterval, Time);
    }

    public LadderJobsDashboardOptions Options { get; }

    /// <summary>The mount path without a trailing slash ("" when mounted at the root).</summary>
    public string Prefix { get; }

    public IServiceProvider Services { get; }

    public TimeProvider Time { get; }

    public ILogger Logger { get; }

    public CountsHistory History { get; }

    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    // Resolved per request, not at mapping time: the queue is a singleton opened on first use, and mapping must not open it.
    public static JobQueue Queue(HttpContext context) => context.RequestServices.GetService<JobQueue>()
        ?? throw new InvalidOperationException("The Ladder.Jobs dashboard needs a JobQueue in the services: call builder.Services.AddLadderJobs(...) or register one.");

    /// <summary>The absolute path of a dashboard page for links ("" is the overview), under the request's path base.</summary>
    public string Link(HttpContext context, string relative) => $"{context.Request.PathBase}{Prefix}/{relative}";
}
