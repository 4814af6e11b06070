using System.Globalization;
using System.Text.Json;

namespace Ladder.Workers;

/// <summary>
/// The worker side: put it in your own executable, map handlers by name, and run it when the program is started
/// as a worker. It talks to the pool over stdin/stdout frames, and moves <see cref="Console.Out"/> to stderr first
/// so a stray <c>Console.WriteLine</c> can never corrupt the protocol.
/// </summary>
/// <example>
/// <code>
/// if (WorkerHost.IsWorkerInvocation(args))
/// {
///     return await new WorkerHost()
///         .Map&lt;ParseRequest, ParseResult&gt;("parse", (request, ct) =&gt; Parser.Parse(request, ct))
///         .RunAsync();
/// }
/// </code>
/// </example>
public sealed partial class WorkerHost
{
    /// <summary>The argument that, by convention, starts a program as a worker: <c>--ladder-worker</c>.</summary>
    public const string WorkerSwitch = "--ladder-worker";

    internal const string MaxFrameVariable = "LADDER_WORKERS_MAX_FRAME";
    internal const string ReportMemoryVariable = "LADDER_WORKERS_REPORT_MEMORY";
    internal const int ExitProtocolError = 70;
    internal const int ExitOutOfMemory = 71;

    private readonly Dictionary<string, Func<ReadOnlyMemory<byte>, CancellationToken, Task<byte[]>>> _handlers = new(StringComparer.Ordinal);
    private readonly JsonSerializerOptions _json;
    private readonly bool _reportMemory = Environment.GetEnvironmentVariable(ReportMemoryVariable) == "1";

    /// <summary>Creates a host.</summary>
    /// <param name="jsonSerializerOptions">Serializer options for typed handlers; must match the pool's. Default: <see cref="JsonSerializerOptions.Web"/>.</param>
    public WorkerHost(JsonSerializerOptions? jsonSerializerOptions = null) => _json = jsonSerializerOptions ?? JsonSerializerOptions.Web;

    /// <summary>True when <paramref name="args"/> contains <paramref name="workerSwitch"/>: the program was started by a pool.</summary>
    /// <param name="args">The program's arguments.</param>
    /// <param name="workerSwitch">The switch. Default: <see cref="WorkerSwitch"/>.</param>
    /// <returns>Whether to run as a worker.</returns>
    public static bool IsWorkerInvocation(IReadOnlyList<string> args, string workerSwitch = WorkerSwitch)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentException.ThrowIfNullOrEmpty(workerSwitch);
        for (var i = 0; i < args.Count; i++)
        {
            if (string.Equals(args[i], workerSwitch, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Maps an asynchronous typed handler: the request and response travel as JSON.</summary>
    /// <typeparam name="TRequest">The request type.</typeparam>
    /// <typeparam name="TResponse">The response type.</typeparam>
    /// <param name="operation">The operation name callers use.</param>
    /// <param name="handler">The handler; its token is cancelled when the pool sends a cancel frame (deadline or caller cancel).</param>
    /// <returns>This host.</returns>
    /// <exception cref="ArgumentException">The name is empty or already mapped.</exception>
    /// <remarks>
    /// A lambda that fits both overloads (one that only throws, <c>(r, ct) =&gt; throw ...</c>) binds to this one
    /// rather than being ambiguous: the exception reaches the caller as <see cref="WorkerRemoteException"/> either way.
    /// </remarks>
    [System.Runtime.CompilerServices.OverloadResolutionPriority(1)]
    public WorkerHost Map<TRequest, TResponse>(string operation, Func<TRequest, CancellationToken, Task<TResponse>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var json = _json;
        return Add(operation, async (payload, ct) =>
        {
            var request = JsonSerializer.Deserialize<TRequest>(payload.Span, json)!;
            var pending = handler(request, ct) ?? throw new InvalidOperationException($"The handler of '{operation}' returned a null Task.");
            var response = await pending.ConfigureAwait(false);
            return JsonSerializer.SerializeToUtf8Bytes(response, json);
        });
    }

    /// <summary>Maps a synchronous typed handler (run on the host thread that read the call; another thread keeps reading, so cancel frames are still read).</summary>
    /// <typeparam name="TRequest">The request type.</typeparam>
    /// <typeparam name="TResponse">The response type.</typeparam>
    /// <param name="operation">The operation name callers use.</param>
    /// <param name="handler">The handler; its token is cancelled when the pool sends a cancel frame.</param>
    /// <returns>This host.</returns>
    /// <exception cref="ArgumentException">The name is empty or already mapped.</exception>
    public WorkerHost Map<TRequest, TResponse>(string operation, Func<TRequest, CancellationToken, TResponse> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var json = _json;
        return Add(operation, (payload, ct) =>
        {
            var request = JsonSerializer.Deserialize<TRequest>(payload.Span, json)!;
            return Task.FromResult(JsonSerializer.SerializeToUtf8Bytes(handler(request, ct), json));
        });
    }

    /// <summary>Maps a raw bytes handler: the payload crosses the pipe as-is (no JSON, no base64).</summary>
    /// <param name="operation">The operation name callers use with <see cref="WorkerPool.InvokeBytesAsync"/>.</param>
    /// <param name="handler">The handler; its token is cancelled when the pool sends a cancel frame.</param>
    /// <returns>This host.</returns>
    /// <exception cref="ArgumentException">The name is empty or already mapped.</exception>
    public WorkerHost MapBytes(string operation, Func<ReadOnlyMemory<byte>, CancellationToken, Task<byte[]>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Add(operation, handler);
    }

    /// <summary>
    /// Runs the worker over the process's stdin and stdout until the pool closes stdin or sends a shutdown frame.
    /// </summary>
    /// <param name="cancellationToken">Stops the host.</param>
    /// <returns>The process exit code: 0 after a clean shutdown.</returns>
    public Task<int> RunAsync(CancellationToken cancellationToken = default)
    {
        // Before any handler runs: everything written to Console.Out goes to stderr, never into the frames.
        var stdout = Console.OpenStandardOutput();
        Console.SetOut(Console.Error);
        var stdin = Console.OpenStandardInput();
        var max = int.TryParse(Environment.GetEnvironmentVariable(MaxFrameVariable), NumberStyles.None, CultureInfo.InvariantCulture, out var m) && m > 0
            ? m
            : 16 * 1024 * 1024;
        return RunAsync(stdin, stdout, max, cancellationToken, endsItsGroup: true);
    }

    private WorkerHost Add(string operation, Func<ReadOnlyMemory<byte>, CancellationToken, Task<byte[]>> handler)
    {
        ArgumentException.ThrowIfNullOrEmpty(operation);
        if (!_handlers.TryAdd(operation, handler))
        {
            throw new ArgumentException($"The operation '{operation}' is already mapped.", nameof(operation));
        }

        return this;
    }
}
