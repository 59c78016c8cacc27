using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;

namespace AstraPbx.Fuzz.Targets;

/// <summary>An AudioSocket connection without a socket: what "Asterisk" writes goes straight to the relay's reader, and
/// what the relay writes is kept. Inline schedulers: each write runs the relay's read loop to its next await on the
/// writer's thread, so a run is deterministic and fast.</summary>
internal sealed class InMemoryConnection
{
    private static readonly PipeOptions Inline = new(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline,
        pauseWriterThreshold: 0, resumeWriterThreshold: 0, useSynchronizationContext: false);

    private readonly Pipe _toRelay = new(Inline);
    private readonly Pipe _toAsterisk = new(Inline);

    public InMemoryConnection()
    {
        Context = new DefaultConnectionContext("fuzz", new Duplex(_toRelay.Reader, _toAsterisk.Writer), new Duplex(_toAsterisk.Reader, _toRelay.Writer));
    }

    /// <summary>What the relay's connection handler is given.</summary>
    public ConnectionContext Context { get; }

    /// <summary>True once the relay aborted the connection (its reset when there is no socket).</summary>
    public bool Aborted => Context.ConnectionClosed.IsCancellationRequested;

    /// <summary>Asterisk sends bytes.</summary>
    public ValueTask<FlushResult> SendAsync(ReadOnlyMemory<byte> bytes) => _toRelay.Writer.WriteAsync(bytes);

    /// <summary>Asterisk ends the connection: a graceful close, or a reset.</summary>
    public void End(bool reset) => _toRelay.Writer.Complete(reset ? new ConnectionResetException("fuzz: connection reset by peer") : null);

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

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
