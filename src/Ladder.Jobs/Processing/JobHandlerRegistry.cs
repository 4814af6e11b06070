using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace Ladder.Jobs;

/// <summary>The handlers a processor knows, one per job kind.</summary>
public sealed class JobHandlerRegistry
{
    private readonly Dictionary<string, Func<IServiceProvider?, string, JobContext, CancellationToken, Task>> _handlers = new(StringComparer.Ordinal);

    /// <summary>The registered kinds.</summary>
    public IReadOnlyCollection<string> Kinds => _handlers.Keys;

    internal bool NeedsServices { get; private set; }

    /// <summary>Registers a delegate for the kind of <typeparamref name="TArgs"/>.</summary>
    /// <typeparam name="TArgs">The argument type.</typeparam>
    /// <param name="handler">Runs one attempt; see <see cref="IJobHandler{TArgs}.HandleAsync"/>.</param>
    /// <returns>This registry.</returns>
    /// <exception cref="InvalidOperationException">The kind already has a handler.</exception>
    public JobHandlerRegistry Add<TArgs>(Func<TArgs, JobContext, CancellationToken, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Register<TArgs>((_, args, context, ct) => handler(args, context, ct));
    }

    /// <summary>Registers a handler instance for the kind of <typeparamref name="TArgs"/>.</summary>
    /// <typeparam name="TArgs">The argument type.</typeparam>
    /// <param name="handler">The handler.</param>
    /// <returns>This registry.</returns>
    /// <exception cref="InvalidOperationException">The kind already has a handler.</exception>
    public JobHandlerRegistry Add<TArgs>(IJobHandler<TArgs> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Register<TArgs>((_, args, context, ct) => handler.HandleAsync(args, context, ct));
    }

    /// <summary>Registers <typeparamref name="THandler"/>, resolved from a service scope per job (needs dependency injection).</summary>
    /// <typeparam name="TArgs">The argument type.</typeparam>
    /// <typeparam name="THandler">The handler type, registered in the service collection.</typeparam>
    /// <returns>This registry.</returns>
    /// <exception cref="InvalidOperationException">The kind already has a handler.</exception>
    public JobHandlerRegistry Add<TArgs, THandler>()
        where THandler : IJobHandler<TArgs>
    {
        NeedsServices = true;
        return Register<TArgs>((services, args, context, ct) =>
            services!.GetRequiredService<THandler>().HandleAsync(args, context, ct));
    }

    internal bool TryGet(string kind, out Func<IServiceProvider?, string, JobContext, CancellationToken, Task> invoke) =>
        _handlers.TryGetValue(kind, out invoke!);

    private JobHandlerRegistry Register<TArgs>(Func<IServiceProvider?, TArgs, JobContext, CancellationToken, Task> handler)
    {
        var kind = JobKindAttribute.Of<TArgs>();
        if (!_handlers.TryAdd(kind, (services, payload, context, ct) => handler(services, Deserialize<TArgs>(kind, payload), context, ct)))
        {
            throw new InvalidOperationException($"Job kind '{kind}' already has a handler.");
        }

        return this;
    }

    private static TArgs Deserialize<TArgs>(string kind, string payload)
    {
        try
        {
            return JsonSerializer.Deserialize<TArgs>(payload, JobJson.Options) ?? throw new JsonException("The payload is null.");
        }
        catch (JsonException e)
        {
            throw new JobPayloadException(kind, typeof(TArgs), e);
        }
        catch (NotSupportedException e)
        {
            throw new JobPayloadException(kind, typeof(TArgs), e);
        }
    }
}
