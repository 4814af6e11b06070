using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Ladder.Jobs.Tests;

/// <summary>The SQLite settings in a host (the rest of the host's behaviour is the contract suite's DependencyInjectionContract).</summary>
public sealed class DependencyInjectionTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task AddLadderJobs_WithInvalidOptions_FailsAtStartListingEveryFailure(CancellationToken ct)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddLadderJobs(o =>
        {
            o.Path = "";
            o.MaxBatchSize = 0;
        });
        using var host = builder.Build();

        var start = () => host.StartAsync(ct);

        var failures = (await start.Should().ThrowAsync<OptionsValidationException>()).Which.Failures;
        failures.Should().HaveCount(2).And.Contain(f => f.StartsWith("Path", StringComparison.Ordinal)).And.Contain(f => f.StartsWith("MaxBatchSize", StringComparison.Ordinal));
    }
}
