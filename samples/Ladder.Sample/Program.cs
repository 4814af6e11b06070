using Ladder.Sample.Hosting;
using Ladder.Sample.Simulate;

// One executable, three roles: the ladder host (default), a parser worker started by the host's pool
// ("worker"), and the load driver that plays a ladder season against a running host ("simulate").
return args switch
{
    [ParserWorker.Switch, ..] => await ParserWorker.RunAsync(args[1..]),
    ["simulate", ..] => await SimulateCommand.RunAsync(args[1..]),
    _ => await LadderHost.RunAsync(args),
};
