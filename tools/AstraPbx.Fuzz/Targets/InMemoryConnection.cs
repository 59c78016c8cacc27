using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using AstraPbx.MediaRelay.Hosting;

namespace AstraPbx.Fuzz.Targets;

/// <summary>An AudioSocket connection without a socket: what "Asterisk" writes goes straight to the relay's reader, and
/// what the relay writes is kept. Inline schedulers: each write runs the relay's read loop to its next await on the
/// writer's thread, so a run is deterministic and fast.</summary>
internal sealed class InMemoryConnection : ICallerTransport
{
    private static readonly PipeOptions Inline = new(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline,
        pauseWriterThreshold: 0, resumeWriterThreshold: 0, useSynchronizationContext: false);

    private readonly Pipe _toRelay = new(Inline);
    private readonly Pipe _toAsterisk = new(Inline);

    private int _aborted;

    public string ConnectionId => "fuzz";

    public string? Remote => null;

    public Socket? Socket => null;

    public PipeReader Input => _toRelay.Reader;

    public PipeWriter Output => _toAsterisk.Writer;

    /// <summary>True once the relay reset the connection.</summary>
    public bool Aborted => Volatile.Read(ref _aborted) != 0;

    /// <summary>The relay's reset: the read in flight fails, as a socket's does.</summary>
    public void Reset()
    {
        if (Interlocked.Exchange(ref _aborted, 1) == 0)
        {
            _toRelay.Writer.Complete(new IOException("fuzz: reset by the relay"));
        }
    }

    // The fuzz ticks the session itself, and its input is already in memory.
    public void StartTicking()
    {
    }

    public void Poll()
    {
    }

    public void StopTicking()
    {
    }

    /// <summary>Asterisk sends bytes.</summary>
    public ValueTask<FlushResult> SendAsync(ReadOnlyMemory<byte> bytes) =>
        Aborted ? new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: true)) : _toRelay.Writer.WriteAsync(bytes);

    /// <summary>Asterisk ends the connection: a graceful close, or a reset.</summary>
    public void End(bool reset)
    {
        if (!Aborted)
        {
            _toRelay.Writer.Complete(reset ? new IOException("fuzz: connection reset by peer") : null);
        }
    }

    /// <summary>Everything the relay wrote toward Asterisk so far.</summary>
    public byte[] Received()
    {
        if (!_toAsterisk.Reader.TryRead(out var result))
        {
            return [];
        }

        var bytes = result.Buffer.ToArray();
        _toAsterisk.Reader.AdvanceTo(result.Buffer.End);
        return bytes;
    }
}
