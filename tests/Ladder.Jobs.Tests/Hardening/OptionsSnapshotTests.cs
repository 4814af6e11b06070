using System.Reflection;

namespace Ladder.Jobs.Tests.Hardening;

/// <summary>Options copy every setting (a queue's snapshot of its options is the contract suite's OptionsSnapshotContract).</summary>
public sealed class OptionsSnapshotTests
{
    [Test]
    public void Options_Copy_CarriesEveryPublicProperty()
    {
        // Reflection, so a property added later without being copied fails here.
        var original = new LadderJobsOptions();
        foreach (var property in typeof(LadderJobsOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod?.IsPublic == true))
        {
            property.SetValue(original, Different(property.PropertyType, property.GetValue(original)));
        }

        original.Queues["copied"] = 7;

        var copy = original.Copy();

        foreach (var property in typeof(LadderJobsOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.PropertyType == typeof(IDictionary<string, int>))
            {
                ((IDictionary<string, int>)property.GetValue(copy)!).Should().Equal((IDictionary<string, int>)property.GetValue(original)!);
                property.GetValue(copy).Should().NotBeSameAs(property.GetValue(original));
            }
            else
            {
                property.GetValue(copy).Should().Be(property.GetValue(original), property.Name);
            }
        }
    }

    private static object Different(Type type, object? value) => value switch
    {
        string s => s + "-changed",
        bool b => !b,
        int i => i + 1,
        TimeSpan t => t + TimeSpan.FromMilliseconds(1),
        SynchronousMode m => m == SynchronousMode.Full ? SynchronousMode.Normal : SynchronousMode.Full,
        _ => throw new InvalidOperationException($"Add a changed value for {type}."),
    };
}
