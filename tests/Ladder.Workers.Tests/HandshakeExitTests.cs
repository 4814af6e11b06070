using System.Diagnostics;
using Ladder.Workers.Processes;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ladder.Workers.Tests;

/// <summary>A worker that exits in the instant between sending its handshake and the pool accepting it is still seen dead.</summary>
public sealed class HandshakeExitTests
{
    [Test, CancelAfter(60_000)]
    public async Task Handshake_OfAWorkerThatExitsBeforeItIsAccepted_WhileAGrandchildHoldsItsOutput_FaultsTheWorker(CancellationToken ct)
    {
        var pidFile = Path.Combine(Path.GetTempPath(), $"ladder-handshake-exit-{Guid.NewGuid():N}");
        var options = Support.Options(spare: false);
        options.Environment["TESTWORKER_DETACH_THEN_EXIT"] = pidFile;
        var worker = WorkerProcess.Start(options, NullLogger.Instance, TimeProvider.System);

        // The race, made certain: the reader has read the handshake and waits, before accepting it, until the exit has
        // been seen. The exit's own check then finds the worker still starting and leaves the fault to the handshake.
        worker.HandshakeReadProbe = () => worker.ExitHandled.Wait(TimeSpan.FromSeconds(30), CancellationToken.None);
        try
        {
            try
            {
                await worker.HandshakeAsync();
            }
            catch (WorkerStartException)
            {
                // Also correct: the exit reported as a failed start.
            }

            // stdout never ends (the grandchild holds it): without the exit, the worker would look alive for ever.
            await worker.Faulted.WaitAsync(TimeSpan.FromSeconds(20), ct);
            worker.IsDead.Should().BeTrue();
            (await worker.Faulted).Should().BeOfType<WorkerCrashedException>().Which.ExitCode.Should().Be(3, "the worker exited with code 3 after its handshake");
        }
        finally
        {
            worker.Release();
            if (File.Exists(pidFile))
            {
                using var orphan = Process.GetProcessById(int.Parse(await File.ReadAllTextAsync(pidFile, ct), System.Globalization.CultureInfo.InvariantCulture));
                orphan.Kill();
                File.Delete(pidFile);
            }
        }
    }
}
