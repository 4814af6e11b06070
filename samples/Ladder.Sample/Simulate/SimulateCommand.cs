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
        var url = new Option<string>("--url") { Description = "The running host.", DefaultValueFactory = static _ => "http://127.0.0.1:5080" };
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
            url, players, matches, concurrency, duplicates, corrupt, hanging, seed, wait,
        };
        simulate.SetAction(async (result, cancellationToken) =>
        {
            if (!Uri.TryCreate(result.GetValue(url), UriKind.Absolute, out var baseUrl) || baseUrl.Scheme is not ("http" or "https"))
            {
                await Console.Error.WriteLineAsync($"--url must be an http(s) URL; got '{result.GetValue(url)}'.");
                return 2;
            }

            var settings = new SimulationSettings(
                baseUrl, result.GetValue(players), result.GetValue(matches), result.GetValue(concurrency),
                result.GetValue(duplicates), result.GetValue(corrupt), result.GetValue(hanging), result.GetValue(seed) ?? Environment.TickCount, TimeSpan.FromSeconds(result.GetValue(wait)));
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
    Uri Url, int Players, int Matches, int Concurrency, double Duplicates, double Corrupt, double Hanging, int Seed, TimeSpan Wait)
{
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
