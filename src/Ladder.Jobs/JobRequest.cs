using System.Text.Json;

namespace Ladder.Jobs;

/// <summary>A job to enqueue: its kind, its JSON payload and its options.</summary>
public sealed class JobRequest
{
    /// <summary>Creates a request from a kind and a JSON payload.</summary>
    /// <param name="kind">The job kind; a handler is registered per kind.</param>
    /// <param name="payloadJson">The payload as JSON text.</param>
    /// <param name="options">Per-job options, or <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentException"><paramref name="kind"/> is empty.</exception>
    public JobRequest(string kind, string payloadJson, JobOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        ArgumentNullException.ThrowIfNull(payloadJson);
        Kind = kind;
        PayloadJson = payloadJson;
        Options = options ?? Default;
    }

    private static readonly JobOptions Default = new();

    /// <summary>Whether the request was created without options of its own.</summary>
    internal bool HasDefaultOptions => ReferenceEquals(Options, Default);

    /// <summary>The job kind.</summary>
    public string Kind { get; }

    /// <summary>The payload as JSON text.</summary>
    public string PayloadJson { get; }

    /// <summary>The per-job options.</summary>
    public JobOptions Options { get; }

    /// <summary>A request for a typed job: the kind comes from <typeparamref name="TArgs"/>, the payload is its JSON.</summary>
    /// <typeparam name="TArgs">The argument type; see <see cref="JobKindAttribute"/>.</typeparam>
    /// <param name="args">The arguments, serialized with System.Text.Json (web defaults).</param>
    /// <param name="options">Per-job options, or <see langword="null"/> for the defaults.</param>
    /// <returns>The request.</returns>
    /// <exception cref="ArgumentException"><paramref name="args"/> is itself a <see cref="JobRequest"/>.</exception>
    public static JobRequest For<TArgs>(TArgs args, JobOptions? options = null) =>
        args is JobRequest
            ? throw new ArgumentException("The arguments are a JobRequest: enqueue it as it is (EnqueueAsync(JobRequest)), not as the payload of another job.", nameof(args))
            : new(JobKindAttribute.Of<TArgs>(), JsonSerializer.Serialize(args, JobJson.Options), options);
}

/// <summary>The JSON settings of payloads.</summary>
internal static class JobJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}
