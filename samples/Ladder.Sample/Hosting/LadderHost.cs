using Ladder.Caching;
using Ladder.Jobs.Dashboard;
using Ladder.Sample.Api;
using Ladder.Sample.Domain;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Ladder.Sample.Hosting;

/// <summary>Builds and runs the ladder web host. Tests build it in-process through <see cref="Build"/>.</summary>
internal static partial class LadderHost
{
    /// <summary>The line a launcher (the tests, a script) can wait for; the URL follows it.</summary>
    public const string ReadyBanner = "Ladder is running at ";

    public static async Task<int> RunAsync(string[] args)
    {
        // The first words a user sees after `dotnet run` has built the sample: the host is starting, and what comes.
        // (Not the ready banner's words: launchers wait for those.)
        await Console.Out.WriteLineAsync("Ladder sample host starting: its URL follows once it listens (Ctrl+C stops it).");
        WebApplication app;
        try
        {
            app = await BuildAsync(args);
        }
        catch (OptionsValidationException e)
        {
            foreach (var failure in e.Failures)
            {
                await Console.Error.WriteLineAsync($"Invalid setting: {failure}");
            }

            return 2;
        }
        catch (ListenException e)
        {
            foreach (var problem in e.Problems)
            {
                await Console.Error.WriteLineAsync($"Cannot listen: {problem}");
            }

            return 3;
        }

        await using (app)
        {
            try
            {
                await app.RunAsync();
            }
            catch (IOException e) when (e.InnerException is AddressInUseException)
            {
                // Only if another process took the port between the check in BuildAsync and Kestrel's bind.
                await Console.Error.WriteLineAsync($"Cannot listen: {e.Message}");
                return 3;
            }
        }

        return 0;
    }

    public static async Task<WebApplication> BuildAsync(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,

            // appsettings.json and the page sit beside the app, so any working directory works.
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddCommandLine(args, new Dictionary<string, string>
        {
            ["--data"] = "Ladder:DataPath",
            ["--port"] = "Ladder:Port",
            ["--urls"] = "Ladder:Urls",
            ["--postgres"] = "Ladder:ConnectionString",
        });

        // Read and checked here, before the libraries are configured from them and before anything touches the
        // database, so every problem (a value that does not convert included) is listed at once.
        var failures = new List<string>();
        var options = LadderOptions.Read(builder.Configuration.GetSection(LadderOptions.Section), failures);
        options.Urls ??= builder.Configuration[WebHostDefaults.ServerUrlsKey] is { Length: > 0 } aspNetCoreUrls ? aspNetCoreUrls : null;
        if (new LadderOptions.Validator().Validate(null, options) is { Failed: true } invalid)
        {
            failures.AddRange(invalid.Failures);
        }

        if (failures.Count > 0)
        {
            throw new OptionsValidationException(LadderOptions.Section, typeof(LadderOptions), failures);
        }

        // Bind first: a host that cannot listen stops here, before it opens the database, seeds or parses anything.
        ListenAddresses.TryParse(options.ListenUrls, failures, out var listen);
        ListenAddresses.ThrowIfInUse(listen);
        builder.WebHost.UseUrls(options.ListenUrls);
        builder.Services.AddSingleton(Options.Create(options));

        // SQLite (a file, the default) or PostgreSQL (cluster mode): the one choice, made here.
        var postgres = string.IsNullOrWhiteSpace(options.ConnectionString) ? null : options.ConnectionString;
        string? databasePath = null;
        if (postgres is null)
        {
            var dataPath = options.ResolveDataPath();
            Directory.CreateDirectory(dataPath);
            databasePath = Path.Combine(dataPath, "ladder.db");
        }

        ExpectedOutcomes.Register(builder.Services);
        builder.Services.AddSingleton(TimeProvider.System);
        if (postgres is null)
        {
            builder.Services.AddSingleton(sp => new LadderDatabase(databasePath!, sp.GetRequiredService<TimeProvider>()));
        }
        else
        {
            // Created (and disposed) by the container: the ladder's tables and the cache backplane share it.
            builder.Services.AddSingleton(_ => NpgsqlDataSource.Create(postgres));
            builder.Services.AddSingleton(sp => LadderDatabase.ForPostgres(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<TimeProvider>()));
        }

        // A request the framework itself refuses (a body it cannot read, a value it cannot bind) throws, so the
        // problem handler can say why; by default it would answer a bare 400.
        builder.Services.Configure<RouteHandlerOptions>(static o => o.ThrowOnBadRequest = true);
        builder.Services.AddProblemDetails(static o => o.CustomizeProblemDetails = ProblemHandler.Describe);
        builder.Services.AddExceptionHandler<ProblemHandler>();
        builder.Services.Configure<Microsoft.AspNetCore.Http.Json.JsonOptions>(static o =>
            o.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.CamelCase)));
        builder.Services.Configure<HostOptions>(static o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        // The jobs dashboard's retry, cancel and purge forms carry an anti-forgery token.
        builder.Services.AddAntiforgery();
        AddLibraries(builder.Services, options, databasePath, postgres);
        configure?.Invoke(builder);

        var app = builder.Build();
        ServedBy.Use(app);
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        var api = app.MapGroup("/api");
        PlayersApi.Map(api);
        MatchesApi.Map(api);
        LeaderboardApi.Map(api);
        OperationsApi.Map(api);
        ClusterApi.Map(api);
        WebPage.Map(app);

        // The Ladder.Jobs dashboard at /jobs, linked from the page. Loopback callers only (its default), like the host.
        // Its footer says which host served the page, as the ladder's page does.
        app.MapLadderJobsDashboard("/jobs", static o =>
        {
            o.Title = "Ladder sample jobs";
            o.PageNote = static context => "served by " + ServedBy.Name(context);
        });

        var database = app.Services.GetRequiredService<LadderDatabase>();
        await database.InitializeAsync();
        if (postgres is not null)
        {
            // A missing table or privilege fails the start here, not on the first write.
            await app.Services.GetRequiredService<PostgresBackplane>().StartAsync();
        }

        app.Lifetime.ApplicationStarted.Register(() => Announce(app, database.Location));
        return app;
    }

    private static void Announce(WebApplication app, string database)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        foreach (var address in addresses)
        {
            Console.Out.WriteLine($"{ReadyBanner}{address}  (database: {database}; Ctrl+C stops it)");
        }

        Console.Out.Flush();
    }
}
