namespace Ladder.Jobs.Tests.Hardening;

/// <summary>A <see cref="JobRequest"/> is never wrapped in another (the stores' side is the contract suite's EnqueueMisuseContract).</summary>
public sealed class EnqueueMisuseTests
{
    [Test]
    public void RequestFor_ARequest_IsRefused()
    {
        var wrap = () => JobRequest.For(new JobRequest("echo", "{}"));

        wrap.Should().Throw<ArgumentException>().Which.Message.Should().Contain(nameof(JobRequest));
    }
}
