namespace Ladder.Workers.Processes;

/// <summary>The last lines a worker wrote to stderr, kept for crash reports.</summary>
internal sealed class StderrTail(int maxLines)
{
    /// <summary>Longest stderr line kept or logged; the rest of a longer line is dropped.</summary>
    public const int MaxLineLength = 2000;
    private readonly Queue<string> _lines = new();
    private readonly Lock _lock = new();

    public void Add(string line)
    {
        if (line.Length > MaxLineLength)
        {
            line = line[..MaxLineLength] + "…";
        }

        lock (_lock)
        {
            _lines.Enqueue(line);
            while (_lines.Count > maxLines)
            {
                _lines.Dequeue();
            }
        }
    }

    public override string ToString()
    {
        lock (_lock)
        {
            return string.Join('\n', _lines);
        }
    }
}
