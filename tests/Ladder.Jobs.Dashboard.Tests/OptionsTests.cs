using Ladder.Jobs.Dashboard.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Ladder.Jobs.Dashboard.Tests;

[TestFixture]
public sealed class OptionsTests
{
    [Test]
    public void Defaults_AreDocumentedValues()
    {
        var options = new LadderJobsDashboardOptions();

        options.ReadOnly.Should().BeFalse();
        options.Title.Should().Be("Ladder jobs");
        options.PollInterval.Should().Be(TimeSpan.FromSeconds(5));
        options.ChartSamples.Should().Be(120);
        options.PageSize.Should().Be(50);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task InvalidOptions_AreAllListed_WhenTheDashboardIsMapped(CancellationToken ct)
    {
        var start = () => DashboardHost.StartAsync(static o =>
        {
            o.PollInterval = TimeSpan.FromMilliseconds(10);
            o.ChartSamples = 1;
            o.PageSize = 0;
            o.Title = " ";
        });

        var thrown = (await start.Should().ThrowAsync<OptionsValidationException>()).Which;
        thrown.Failures.Should().HaveCount(4);
        thrown.Failures.Should().Contain(f => f.Contains("PollInterval", StringComparison.Ordinal))
            .And.Contain(f => f.Contains("ChartSamples", StringComparison.Ordinal))
            .And.Contain(f => f.Contains("PageSize", StringComparison.Ordinal))
            .And.Contain(f => f.Contains("Title", StringComparison.Ordinal));
        await Task.CompletedTask.WaitAsync(ct);
    }

    [TestCase("jobs")]
    [TestCase("/jobs/{id}")]
    [TestCase("/jobs?x")]
    public void APrefixThatIsNotALiteralPath_IsRefused(string prefix)
    {
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateBuilder();
        builder.Services.AddAntiforgery();
        using var app = (IDisposable)builder.Build();

        var map = () => ((Microsoft.AspNetCore.Builder.WebApplication)app).MapLadderJobsDashboard(prefix);

        map.Should().Throw<ArgumentException>().WithMessage("*literal path*");
    }
}
