using System.CommandLine;

namespace Ladder.Sample.Simulate;

/// <summary>
/// <c>simulate</c>: plays a ladder season against a running host over HTTP and prints what happened.
/// </summary>
internal static class SimulateCommand
{
    /// <summary>Exit code when the host cannot be reached or stops answering.</summary>
    public const int HostUnreachable = 3;

    /// <summary>Runs <c>simulate ...</c>: <paramref name="args"/> starts with the word <c>simulate</c>.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var url = new Option<string[]>("--url")
        {
            Description = "A running host; repeat it for the hosts of a cluster (players, uploads and reads are spread over them, and the summary adds the cross-host freshness).",
            DefaultValueFactory = static _ => ["http://127.0.0.1:5080"],
            Arity = ArgumentArity.OneOrMore,
        };
        var freshness = new Option<int>("--freshness-probes") { Description = "With several --url: renames on one host timed until every other host serves them.", DefaultValueFactory = static _ => 20 };
        var players = new Option<int>("--players") { Description = "Players to create.", DefaultValueFactory = static _ => 40 };
        var matches = new Option<int>("--matches") { Description = "Matches to play.", DefaultValueFactory = static _ => 200 };
        var concurrency = new Option<int>("--concurrency") { Description = "Matches in flight at once.", DefaultValueFactory = static _ => 4 };
        var duplicates = new Option<double>("--duplicates") { Description = "Share of the matches whose replay is uploaded twice.", DefaultValueFactory = static _ => 0.05 };
        var corrupt = new Option<double>("--corrupt") { Description = "Share of the matches whose replay is corrupt.", DefaultValueFactory = static _ => 0.02 };
        var hanging = new Option<double>("--hanging") { Description = "Share of the matches whose replay hangs the parser.", DefaultValueFactory = static _ => 0.01 };
        var seed = new Option<int?>("--seed") { Description = "Random seed. Default: a new one each run, printed in the summary; the same seed plays the same season." };
        var wait = new Option<int>("--wait") { Description = "Seconds to wait for the queue to drain.", DefaultValueFactory = static _ => 300 };

        // A subcommand of a root named after the executable, so the usage line reads "Ladder.Sample simulate [options]",
        // which is what a user types (after "dotnet run --project samples/Ladder.Sample --").
        var simulate = new Command("simulate",
            "Plays a ladder season against a running Ladder host over HTTP. Shares are of the matches, rounded to whole " +
            "matches, and chosen by the seed: at the defaults a 200-match season sends 4 corrupt and 2 hanging replays " +
            "and uploads 10 replays twice.")
        {
            url, players, matches, concurrency, duplicates, corrupt, hanging, seed, wait, freshness,
        };
        simulate.SetAction(async (result, cancellationToken) =>
        {
            var urls = new List<Uri>();
            foreach (var given in result.GetValue(url) ?? [])
            {
                if (!Uri.TryCreate(given, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https"))
                {
                    await Console.Error.WriteLineAsync($"--url must be an http(s) URL; got '{given}'.");
                    return 2;
                }

                urls.Add(parsed);
            }

            var baseUrl = urls[0];

            var settings = new SimulationSettings(
                urls, result.GetValue(players), result.GetValue(matches), result.GetValue(concurrency),
                result.GetValue(duplicates), result.GetValue(corrupt), result.GetValue(hanging), result.GetValue(seed) ?? Environment.TickCount, TimeSpan.FromSeconds(result.GetValue(wait)),
                result.GetValue(freshness));
            var problems = settings.Validate();
            if (problems.Count > 0)
            {
                foreach (var problem in problems)
                {
                    await Console.Error.WriteLineAsync(problem);
                }

                return 2;
            }

            SimulationSummary summary;
            try
            {
                summary = await new Simulation(settings, Console.Error).RunAsync(cancellationToken);
            }
            catch (HostUnreachableException e)
            {
                await Console.Error.WriteLineAsync($"\n{e.Message}");
                return HostUnreachable;
            }
            catch (LadderApiException e)
            {
                // A refusal outside a match (creating the players, the drain): the problem details say why.
                await Console.Error.WriteLineAsync($"\nThe host at {baseUrl} refused a request: {e.Message}");
                return 1;
            }

            Console.Out.Write(summary.Format());
            return summary.Unfinished == 0 ? 0 : 1;
        });

        var root = new RootCommand("The Ladder sample: with no command, the ladder host; 'simulate' plays a season against a running host.") { simulate };
        return await root.Parse(args).InvokeAsync();
    }
}

internal sealed record SimulationSettings(
    IReadOnlyList<Uri> Urls, int Players, int Matches, int Concurrency, double Duplicates, double Corrupt, double Hanging, int Seed, TimeSpan Wait,
    int FreshnessProbes = 20)
{
    /// <summary>The first host: the drain is watched there (the queue is shared).</summary>
    public Uri Url => Urls[0];

    public List<string> Validate()
    {
        var problems = new List<string>();
        if (Players < 2)
        {
            problems.Add("--players must be at least 2.");
        }

        if (Matches < 1)
        {
            problems.Add("--matches must be at least 1.");
        }

        if (FreshnessProbes is < 0 or > 1000)
        {
            problems.Add("--freshness-probes must be 0 to 1000.");
        }

        if (Concurrency is < 1 or > 64)
        {
            problems.Add("--concurrency must be 1 to 64.");
        }

        foreach (var (name, share) in new[] { ("--duplicates", Duplicates), ("--corrupt", Corrupt), ("--hanging", Hanging) })
        {
            if (share is < 0 or > 1)
            {
                problems.Add($"{name} is a share between 0 and 1.");
            }
        }

        return problems;
    }
}
