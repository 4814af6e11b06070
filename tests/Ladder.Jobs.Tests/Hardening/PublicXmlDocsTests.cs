using System.Reflection;
using System.Xml.Linq;

namespace Ladder.Jobs.Tests.Hardening;

/// <summary>
/// The shipped XML documentation file describes only the public API (the build filters it, see
/// src/Ladder.Jobs/build/PublicXmlDocs.targets). Checked here against the assembly itself, by reflection: an
/// implementation independent of the filter, which reads the PublicAPI files.
/// </summary>
public sealed class PublicXmlDocsTests
{
    private static readonly Assembly Library = typeof(JobQueue).Assembly;

    [Test]
    public void XmlDocs_DocumentNoInternalTypeAndNoInternalMember()
    {
        var names = DocumentedMembers();

        names.Should().Contain("T:Ladder.Jobs.JobQueue", "public types stay documented");
        names.Should().Contain(n => n.StartsWith("M:Ladder.Jobs.JobQueue.WaitForFinishAsync", StringComparison.Ordinal));
        names.Where(n => !IsPublic(n)).Should().BeEmpty("the XML documentation file must describe only the public API");
    }

    [Test]
    public void XmlDocs_ReflectionCheck_SeesInternalsAsInternal()
    {
        // The check itself, on names the compiler would write for documented internals: it must call them internal.
        IsPublic("T:Ladder.Jobs.RunningJob").Should().BeFalse();
        IsPublic("P:Ladder.Jobs.JobQueue.Settings").Should().BeFalse();
        IsPublic("M:Ladder.Jobs.JobQueue.SignalFinished").Should().BeFalse();
        IsPublic("M:Ladder.Jobs.JobQueue.EnqueueAsync(Ladder.Jobs.JobRequest,System.Threading.CancellationToken)").Should().BeTrue();
        IsPublic("M:Ladder.Jobs.JobOptions.#ctor").Should().BeTrue();
    }

    private static List<string> DocumentedMembers()
    {
        var path = Path.ChangeExtension(Library.Location, ".xml");
        File.Exists(path).Should().BeTrue($"the documentation file is copied next to the assembly ({path})");
        return [.. XDocument.Load(path).Root!.Element("members")!.Elements("member").Select(m => (string)m.Attribute("name")!)];
    }

    private static bool IsPublic(string id)
    {
        var kind = id[0];
        var body = id[2..];
        var paren = body.IndexOf('(', StringComparison.Ordinal);
        if (paren >= 0)
        {
            body = body[..paren];
        }

        if (kind == 'T')
        {
            return FindType(body) is { IsVisible: true };
        }

        var dot = body.LastIndexOf('.');
        var type = FindType(body[..dot]);
        if (type is not { IsVisible: true })
        {
            return false;
        }

        var name = body[(dot + 1)..];
        var tick = name.IndexOf('`', StringComparison.Ordinal);
        if (tick >= 0)
        {
            name = name[..tick];
        }

        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        IEnumerable<MemberInfo> members = name == "#ctor" ? type.GetConstructors(all) : type.GetMember(name, all);
        return members.Any(m => m switch
        {
            MethodBase b => b.IsPublic || b.IsFamily || b.IsFamilyOrAssembly,
            PropertyInfo p => p.GetAccessors(nonPublic: true).Any(a => a.IsPublic || a.IsFamily || a.IsFamilyOrAssembly),
            FieldInfo f => f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly,
            EventInfo e => e.AddMethod is { } add && (add.IsPublic || add.IsFamily),
            Type t => t.IsVisible,
            _ => false,
        });
    }

    // A doc id names nested types with '.', reflection with '+': try each split.
    private static Type? FindType(string name)
    {
        var reflectionName = name;
        while (true)
        {
            if (Library.GetType(reflectionName) is { } type)
            {
                return type;
            }

            var dot = reflectionName.LastIndexOf('.');
            if (dot < 0)
            {
                return null;
            }

            reflectionName = string.Concat(reflectionName.AsSpan(0, dot), "+", reflectionName.AsSpan(dot + 1));
        }
    }
}
