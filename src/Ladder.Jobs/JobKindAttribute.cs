namespace Ladder.Jobs;

/// <summary>
/// Names the job kind of an argument type. Without it, the kind is the type's full name; naming it explicitly
/// keeps stored jobs runnable when the type is renamed or moved.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = false)]
public sealed class JobKindAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    /// <param name="kind">The stored kind name, e.g. <c>"parse-replay"</c>.</param>
    public JobKindAttribute(string kind) => Kind = kind;

    /// <summary>The stored kind name.</summary>
    public string Kind { get; }

    /// <summary>The kind of <typeparamref name="TArgs"/>: its <see cref="JobKindAttribute"/>, else its full name.</summary>
    internal static string Of<TArgs>() => KindCache<TArgs>.Kind;

    private static class KindCache<TArgs>
    {
        public static readonly string Kind =
            typeof(TArgs).GetCustomAttributes(typeof(JobKindAttribute), false) is [JobKindAttribute a, ..]
                ? a.Kind
                : typeof(TArgs).FullName ?? typeof(TArgs).Name;
    }
}
