using System.Net;
using System.Net.Sockets;
using Ladder.IntegrationTests.Support;

namespace Ladder.IntegrationTests.Scenarios;

/// <summary>Starting the host as a user does: its settings, its refusals, and what it prints.</summary>
[TestFixture]
[NonParallelizable]
public sealed class HostStartupTests
{
    [Test]
    [CancelAfter(120_000)]
    public async Task Host_WithTheLadderUrlsSetting_ListensThere(CancellationToken ct)
    {
        using var folder = new TempFolder();
        var port = SampleCommand.FreeLoopbackPort();

        await using var host = await SampleHostProcess.StartAsync(folder.Path, ct, $"--Ladder:Urls=http://127.0.0.1:{port}", "--Ladder:WorkerCount=1");

        host.Url.Port.Should().Be(port, host.Output);
        (await host.Client.GetHealthAsync(ct)).Should().Be("healthy");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Host_WithSettingsThatDoNotParse_ListsThemWithTheOtherProblems_AndExitsWithoutACrash(CancellationToken ct)
    {
        using var folder = new TempFolder();

        var result = await SampleCommand.RunAsync(
            ["--data", folder.Path, "--Ladder:ParseDeadline=abc", "--Ladder:WorkerCount=0", "--Ladder:DemoData=maybe", "--Ladder:Urls=ftp://127.0.0.1:1"], ct);

        result.ExitCode.Should().Be(2, result.ToString());
        result.StandardError.Should().Contain("Ladder:ParseDeadline").And.Contain("'abc'")
            .And.Contain("Ladder:DemoData").And.Contain("'maybe'")
            .And.Contain("Ladder:WorkerCount must be 1 to 32")
            .And.Contain("Ladder:Urls");
        result.Output.Should().NotContain("   at ", "a bad setting is a message, not a stack trace");
        File.Exists(Path.Combine(folder.Path, "ladder.db")).Should().BeFalse("nothing is touched before the settings are valid");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Host_OnAPortInUse_FailsBeforeItTouchesTheDatabase(CancellationToken ct)
    {
        using var folder = new TempFolder();
        using var occupant = new TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        var port = ((IPEndPoint)occupant.LocalEndpoint).Port;

        var result = await SampleCommand.RunAsync(["--data", folder.Path, "--port", $"{port}", "--Ladder:DemoData=true"], ct);

        result.ExitCode.Should().NotBe(0, result.ToString());
        result.StandardError.Should().Contain($"127.0.0.1:{port}").And.Contain("in use");
        result.Output.Should().NotContain("   at ", "a port in use is a message, not a stack trace").And.NotContain("Demo data");
        File.Exists(Path.Combine(folder.Path, "ladder.db")).Should().BeFalse("a host that cannot listen must not seed or parse anything");
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task Host_WithDemoData_SaysWhatTheDemoWillDo_AndLogsItsIntendedFailuresWithoutAlarm(CancellationToken ct)
    {
        using var folder = new TempFolder();
        await using var host = await SampleHostProcess.StartAsync(folder.Path, ct,
            "--Ladder:DemoData=true", "--Ladder:ParseDeadline=00:00:03", "--Ladder:ParseMaxAttempts=2", "--Ladder:ParseRetryDelay=00:00:00.2");

        // The demo's five uploads: three are rated, the corrupt and the hanging one end dead.
        await Eventually.WaitAsync(host.Client.GetJobCountsAsync, static c => c.ByState["succeeded"] == 3 && c.ByState["dead"] == 2,
            TimeSpan.FromSeconds(90), ct, "the demo's uploads to finish");

        var lines = host.Output.Split('\n');
        lines.Should().Contain(l => l.Contains("on purpose", StringComparison.Ordinal), "the host says what the demo is about to do:\n" + host.Output);
        // The events of the demo's intended failures: a failed attempt (3005), a dead job (3006), a parse past its
        // deadline (4006) and the kill of its worker (4007). Other warnings, such as a busy write lock on a loaded
        // machine, are not the demo's and keep their level.
        string[] demoEvents = ["Ladder.Jobs.JobProcessor[3005]", "Ladder.Jobs.JobProcessor[3006]", "Ladder.Workers.WorkerPool[4006]", "Ladder.Workers.WorkerPool[4007]"];
        lines.Should().Contain(l => l.StartsWith("info: Ladder.Jobs.JobProcessor[3006]", StringComparison.Ordinal), host.Output);
        lines.Should().NotContain(l => (l.StartsWith("fail:", StringComparison.Ordinal) || l.StartsWith("warn:", StringComparison.Ordinal))
            && demoEvents.Any(e => l.Contains(e, StringComparison.Ordinal)), "the demo's intended failures are expected outcomes:\n" + host.Output);
        // Only the demo's own entries: an unrelated warning on a loaded machine (3014, a busy write) carries a stack trace.
        Entries(lines).Where(e => demoEvents.Any(d => e[0].Contains(d, StringComparison.Ordinal)))
            .Should().NotContain(e => e.Any(l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal)), "no stack traces for expected outcomes:\n" + host.Output);
        lines.Where(l => l.Contains("expected", StringComparison.Ordinal)).Should().HaveCountGreaterThanOrEqualTo(2, host.Output);
    }

    /// <summary>The console logger's entries: a "info: Category[Id]" line, then its message and exception, indented.</summary>
    private static List<List<string>> Entries(IEnumerable<string> lines)
    {
        var entries = new List<List<string>>();
        foreach (var line in lines)
        {
            if (line.Length > 5 && line[4] == ':' && line[..4] is "trce" or "dbug" or "info" or "warn" or "fail" or "crit")
            {
                entries.Add([line]);
            }
            else if (entries.Count > 0)
            {
                entries[^1].Add(line);
            }
        }

        return entries;
    }
}
