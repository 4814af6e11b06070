namespace Ladder.Sample.Domain;

/// <summary>
/// A request the ladder refuses: bad input, a missing entity, a conflicting state. The API turns it into a
/// problem details response with <see cref="StatusCode"/>.
/// </summary>
internal sealed class LadderProblemException(int statusCode, string title, string detail) : Exception(detail)
{
    public int StatusCode { get; } = statusCode;

    public string Title { get; } = title;

    public static LadderProblemException NotFound(string what) => new(404, "Not found", what);

    public static LadderProblemException Invalid(string detail) => new(400, "Invalid input", detail);

    public static LadderProblemException Conflict(string detail) => new(409, "Conflict", detail);
}
