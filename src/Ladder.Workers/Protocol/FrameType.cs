namespace Ladder.Workers.Protocol;

/// <summary>The kind of a frame. Values are part of the wire format: never renumber.</summary>
internal enum FrameType : byte
{
    /// <summary>Worker → pool, once, first: protocol version and pid.</summary>
    Hello = 1,

    /// <summary>Pool → worker: run an operation.</summary>
    Call = 2,

    /// <summary>Pool → worker: cancel the running call (soft).</summary>
    Cancel = 3,

    /// <summary>Worker → pool: the call's response payload.</summary>
    Result = 4,

    /// <summary>Worker → pool: the handler threw; a JSON description of the exception.</summary>
    Error = 5,

    /// <summary>Worker → pool: the handler stopped after a cancel frame.</summary>
    Cancelled = 6,

    /// <summary>Pool → worker: exit now (recycling, shutdown).</summary>
    Shutdown = 7,
}
