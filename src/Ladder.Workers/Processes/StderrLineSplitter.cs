using System.Text;

namespace Ladder.Workers.Processes;

/// <summary>
/// Splits stderr chunks into lines with a hard cap: a line longer than the cap is emitted cut (ending in "…") as soon
/// as the cap is reached, and the rest of it, up to its newline, is dropped. Memory is one line, whatever the worker writes.
/// </summary>
internal sealed class StderrLineSplitter(int maxLineLength)
{
    private readonly StringBuilder _line = new();
    private bool _dropping;

    public void Feed(ReadOnlySpan<char> chunk, Action<string> emit)
    {
        while (!chunk.IsEmpty)
        {
            var end = chunk.IndexOf('\n');
            var piece = end < 0 ? chunk : chunk[..end];
            if (!_dropping)
            {
                var room = maxLineLength - _line.Length;
                if (piece.Length > room)
                {
                    _line.Append(piece[..room]);
                    emit(_line.Append('…').ToString());
                    _line.Clear();
                    _dropping = true;
                }
                else
                {
                    _line.Append(piece);
                }
            }

            if (end < 0)
            {
                return;
            }

            if (!_dropping)
            {
                EmitLine(emit);
            }

            _dropping = false;
            chunk = chunk[(end + 1)..];
        }
    }

    /// <summary>The end of the stream: emits a last line that had no newline.</summary>
    public void Flush(Action<string> emit)
    {
        if (!_dropping && _line.Length > 0)
        {
            EmitLine(emit);
        }

        _dropping = false;
    }

    private void EmitLine(Action<string> emit)
    {
        var length = _line.Length > 0 && _line[^1] == '\r' ? _line.Length - 1 : _line.Length;
        emit(_line.ToString(0, length));
        _line.Clear();
    }
}
