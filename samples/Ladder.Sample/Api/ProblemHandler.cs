using System.Text.Json;
using Ladder.Sample.Domain;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.WebUtilities;

namespace Ladder.Sample.Api;

/// <summary>
/// Turns the ladder's refusals and bad requests into problem details; anything else stays a 500. With
/// <see cref="Describe"/>, every problem the host answers, its own or the framework's, carries a readable detail.
/// </summary>
internal sealed class ProblemHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title, detail) = exception switch
        {
            LadderProblemException e => (e.StatusCode, e.Title, e.Message),
            BadHttpRequestException e => (e.StatusCode, ReasonPhrases.GetReasonPhrase(e.StatusCode), Explain(e, httpContext.Request)),
            JsonException e => (400, "Bad Request", $"The body is not valid JSON for this request. {e.Message}"),
            _ => (0, "", ""),
        };
        if (status == 0)
        {
            return false;
        }

        httpContext.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        });
    }

    /// <summary>
    /// Fills the detail of a problem that has none: the answers ASP.NET Core gives by itself (no route, a wrong
    /// method, a status code page, an unexpected exception) say what was asked and what would have worked.
    /// </summary>
    public static void Describe(ProblemDetailsContext context)
    {
        if (!string.IsNullOrEmpty(context.ProblemDetails.Detail))
        {
            return;
        }

        var request = context.HttpContext.Request;
        var asked = $"{request.Method} {request.Path}{request.QueryString}";
        var allow = context.HttpContext.Response.Headers.Allow.ToString();
        context.ProblemDetails.Detail = context.ProblemDetails.Status switch
        {
            404 => $"Nothing answers {asked}. The API is listed in docs/sample.md; ids in paths are whole numbers.",
            405 => allow.Length > 0
                ? $"{request.Method} is not allowed on {request.Path}; it answers {allow}."
                : $"{request.Method} is not allowed on {request.Path}.",
            415 => $"{asked} does not accept a body of type '{request.ContentType}'. Send JSON with Content-Type: application/json.",
            500 => $"The host failed while answering {asked}; its log has the error (trace id {context.HttpContext.TraceIdentifier}).",
            { } status => $"{ReasonPhrases.GetReasonPhrase(status)}: {asked}.",
            null => $"The request {asked} failed.",
        };
    }

    // The framework's message names the parameter ("Failed to read parameter ... as JSON."); the JSON reader's says
    // where in the body and what it expected ("... Path: $.name | LineNumber: 0 | BytePositionInLine: 11.").
    // An empty body gets the framework's advice to its developer ("Did you mean to use a Service instead?"); the
    // caller needs to hear that a body is missing.
    private static string Explain(BadHttpRequestException e, HttpRequest request) => e switch
    {
        { InnerException: JsonException json } => $"{e.Message} {json.Message}",
        { StatusCode: 415 } => $"{e.Message} Send JSON with Content-Type: application/json.",
        // The exception handler has cleared the endpoint by now; its feature keeps the one that failed.
        _ when request.HttpContext.Features.Get<IExceptionHandlerFeature>()?.Endpoint?.Metadata.GetMetadata<IAcceptsMetadata>() is not null
            && (request.ContentLength == 0 || (request.ContentLength is null && !request.Headers.ContainsKey("Transfer-Encoding")))
            => $"{request.Method} {request.Path} needs a JSON body (Content-Type: application/json); this request has none.",
        _ => e.Message,
    };
}
