using Ladder.Jobs;

/// <summary>Uses Ladder.Jobs through its public API, as a user who installed the package would.</summary>
internal static class JobsUsage
{
    public static async Task RunAsync(List<string> failures)
    {
        var folder = Path.Combine(Path.GetTempPath(), "ladder-consumer-jobs-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var options = new LadderJobsOptions { Path = Path.Combine(folder, "jobs.db") };
            await using var queue = JobQueue.Open(options);
            var ran = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            var handlers = new JobHandlerRegistry().Add<ConsumerJob>((job, _, _) =>
            {
                ran.TrySetResult(job.Number);
                return Task.CompletedTask;
            });
            await using var processor = new JobProcessor(queue, handlers);
            await processor.StartAsync(CancellationToken.None);

            var first = await queue.EnqueueAsync(new ConsumerJob(42), new JobOptions { UniqueKey = "consumer-42" });
            var second = await queue.EnqueueAsync(new ConsumerJob(42), new JobOptions { UniqueKey = "consumer-42" });
            var number = await ran.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await processor.StopAsync(CancellationToken.None);

            Check(first.Inserted && !second.Inserted && second.JobId == first.JobId, "Ladder.Jobs: a unique key was enqueued twice", failures);
            Check(number == 42, $"Ladder.Jobs: the handler saw {number}, not 42", failures);
            var job = await queue.GetJobAsync(first.JobId);
            Check(job?.Summary.State == JobState.Succeeded, $"Ladder.Jobs: the job is {job?.Summary.State}, not Succeeded", failures);
            Console.WriteLine("Ladder.Jobs: enqueued and processed a job through the public API");
        }
        catch (Exception e)
        {
            failures.Add($"Ladder.Jobs: {e.GetType().Name}: {e.Message}");
        }
        finally
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // Best effort.
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

/// <summary>The consumer's job arguments.</summary>
/// <param name="Number">A number to echo.</param>
[JobKind("consumer-job")]
internal sealed record ConsumerJob(int Number);
