using Ladder.Sample.Cluster;
using Ladder.Sample.Hosting;
using Ladder.Sample.Simulate;
using Ladder.Workers;

// One executable, four roles: a parser worker when the host's pool starts it with the worker switch, the load
// driver that plays a season against a running host ("simulate"), several hosts on a local PostgreSQL ("cluster"), and otherwise the ladder host itself.
if (WorkerHost.IsWorkerInvocation(args))
{
    return await ParserWorker.RunAsync();
}

return args switch
{
    ["simulate", ..] => await SimulateCommand.RunAsync(args),
    ["cluster", ..] => await ClusterCommand.RunAsync(args),
    _ => await LadderHost.RunAsync(args),
};
