using System.Globalization;
using System.Text;

namespace Ladder.Jobs.TestNode;

/// <summary>
/// The node's log of handler runs, one line per event, each fsynced before the handler goes on: a line the handler got
/// past survives a SIGKILL of the process, so the orchestrator knows every run that started and every run that ended.
/// </summary>
internal sealed class RunLog : IDisposable
{
    private readonly FileStream _file;
    private readonly string _host;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private int _lines;

    public RunLog(string path, string host, TimeProvider time)
    {
        // Unbuffered: every line goes to the file at once, then to the disk with Flush(true).
        _file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0);
        _host = host;
        _time = time;
    }

    public int Lines => Volatile.Read(ref _lines);

    /// <summary>Appends "<paramref name="what"/> host jobId attempt unix-ns" and fsyncs it.</summary>
    public void Append(string what, long jobId, int attempt)
    {
        lock (_lock)
        {
            // Read under the lock: a job's lines are in time order in the file, like the events.
            var unixNs = (_time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;
            var line = string.Create(CultureInfo.InvariantCulture, $"{what} {_host} {jobId} {attempt} {unixNs}\n");
            _file.Write(Encoding.ASCII.GetBytes(line));
            _file.Flush(flushToDisk: true);
            _lines++;
        }
    }

    public void Dispose() => _file.Dispose();
}
