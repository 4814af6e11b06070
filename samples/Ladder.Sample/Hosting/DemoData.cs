using Ladder.Sample.Domain;
using Ladder.Sample.Replays;
using Microsoft.Extensions.Options;

namespace Ladder.Sample.Hosting;

/// <summary>
/// Fills an empty ladder so the page has something to show: players, a season of reported matches, and a few
/// replay uploads that go through the real pipeline (three good ones, one corrupt, one that hangs the parser).
/// </summary>
internal sealed partial class DemoData(
    LadderDatabase db, ReplayIntake intake, IOptions<LadderOptions> options, ILogger<DemoData> logger) : IHostedService
{
    private static readonly string[] Names =
    [
        "Flash", "Jaedong", "Bisu", "Stork", "Effort", "Best", "Light", "Soulkey", "Rain", "Last", "Mini", "Sharp",
        "Zero", "Hero", "Snow", "Shuttle", "Larva", "Action", "Killer", "Movie", "Sea", "Hyuk", "Kwanro", "Mind",
        "Tyson", "Bonyth", "Dewalt", "Ample", "Queen", "Scan", "Piano", "Nal_ra", "Boxer", "Yellow", "Nada", "Oov",
        "Savior", "July", "Reach", "Kingdom", "Great", "Free", "Jangbi", "Horang2", "Calm", "Fantasy", "Leta", "Mong",
    ];

    private static readonly string[] DemoCountries = ["KR", "KR", "KR", "KR", "US", "DE", "SE", "PL", "FR", "CA", "CN", "UA", "RU", "NL"];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.DemoData || await db.CountPlayersAsync(cancellationToken) > 0)
        {
            return;
        }

        var settings = options.Value;
        Log.Seeding(logger, Names.Length, 160, 5, settings.ParseDeadline.TotalSeconds, settings.ParseMaxAttempts);
        var random = new Random(1998);
        var players = new List<Player>(Names.Length);
        var mains = new Dictionary<long, Race>();
        foreach (var name in Names)
        {
            var player = await db.CreatePlayerAsync(name, DemoCountries[random.Next(DemoCountries.Length)], cancellationToken);
            players.Add(player);
            mains[player.Id] = Races.All[random.Next(3)];
        }

        for (var i = 0; i < 160; i++)
        {
            var (a, b) = Pick(players, random);
            var match = await db.CreateMatchAsync(a.Id, mains[a.Id], b.Id, mains[b.Id], "Fighting Spirit", cancellationToken);
            await db.RecordResultAsync(match.Id, random.Next(2) == 0 ? a.Id : b.Id, "demo", null, cancellationToken);
        }

        var jobs = new long[5];
        for (var i = 0; i < 5; i++)
        {
            var (a, b) = Pick(players, random);
            var match = await db.CreateMatchAsync(a.Id, mains[a.Id], b.Id, mains[b.Id], "Circuit Breaker", cancellationToken);
            var spec = new ReplaySpec(match.Id, new ReplayPlayer(a.Id, a.Name, mains[a.Id]), new ReplayPlayer(b.Id, b.Name, mains[b.Id]), random.Next(2), "Circuit Breaker", Seed: i);
            var replay = i switch
            {
                3 => ReplayGenerator.Corrupt(ReplayGenerator.Create(spec)),
                4 => ReplayGenerator.CreateHanging(spec),
                _ => ReplayGenerator.Create(spec),
            };
            jobs[i] = (await intake.UploadAsync(match.Id, replay, cancellationToken)).JobId;
        }

        Log.Seeded(logger, players.Count, 160, 5, jobs[3], jobs[4]);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static (Player A, Player B) Pick(List<Player> players, Random random)
    {
        var a = players[random.Next(players.Count)];
        Player b;
        do
        {
            b = players[random.Next(players.Count)];
        }
        while (b.Id == a.Id);
        return (a, b);
    }

    private static partial class Log
    {
        [LoggerMessage(2, LogLevel.Information,
            "Demo data: the ladder is empty, so the demo seeds {Players} players, {Matches} reported matches and {Uploads} replay uploads. " +
            "Three uploads parse and rate their matches. Two fail on purpose, to show how the ladder handles bad files: a corrupt " +
            "replay is dead-lettered after one attempt, and a replay that hangs the parser is killed at each {DeadlineSeconds:0.###} s " +
            "deadline, retried, and dead-lettered after {Attempts} attempts. Their log lines below are marked expected; the page " +
            "shows both under Dead jobs, with a Retry button.")]
        public static partial void Seeding(ILogger logger, int players, int matches, int uploads, double deadlineSeconds, int attempts);

        [LoggerMessage(1, LogLevel.Information,
            "Demo data: {Players} players, {Matches} reported matches, {Uploads} replay uploads queued (job {CorruptJob} is the corrupt one, job {HangingJob} the one that hangs the parser).")]
        public static partial void Seeded(ILogger logger, int players, int matches, int uploads, long corruptJob, long hangingJob);
    }
}
