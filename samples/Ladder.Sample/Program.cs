using Ladder.Sample.Hosting;
using Ladder.Sample.Simulate;
using Ladder.Workers;

// One executable, three roles: a parser worker when the host's pool starts it with the worker switch, the load
// driver that plays a season against a running host ("simulate"), and otherwise the ladder host itself.
if (WorkerHost.IsWorkerInvocation(args))
{
    return await ParserWorker.RunAsync();
}

return args is ["simulate", ..]
    ? await SimulateCommand.RunAsync(args)
    : await LadderHost.RunAsync(args);
