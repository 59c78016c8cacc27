using System.Buffers;
using System.Net;
using System.Net.Sockets;
using AstraPbx.Audio.AudioSocket;

namespace AstraPbx.MediaRelay.Tests.Support;

/// <summary>A misbehaving AudioSocket client: writes exactly the bytes a test gives it, and reports how the relay
/// ended the connection (0x00 received, closed).</summary>
public sealed class RawCaller : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly TaskCompletionSource<bool> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _hangupReceived;

    private RawCaller(Socket socket)
    {
        _socket = socket;
        _ = ReadAsync();
    }

    /// <summary>Every frame received from the relay, in order.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<(AudioSocketKind Kind, byte[] Payload)> Frames { get; } = new();

    /// <summary>Completes when the relay closed the connection; true if a 0x00 frame came first.</summary>
    public Task<bool> Closed => _closed.Task;

    /// <summary>True once the relay reset the connection (RST); false after a graceful close (FIN). Read after <see cref="Closed"/>.</summary>
    public bool EndedWithReset { get; private set; }

    public static async Task<RawCaller> ConnectAsync(IPEndPoint endpoint)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endpoint);
        return new RawCaller(socket);
    }

    public static byte[] Frame(AudioSocketKind kind, ReadOnlySpan<byte> payload)
    {
        var writer = new ArrayBufferWriter<byte>();
        AudioSocketFrameWriter.Write(writer, kind, payload);
        return writer.WrittenSpan.ToArray();
    }

    public static byte[] Uuid(Guid id)
    {
        var writer = new ArrayBufferWriter<byte>();
        AudioSocketFrameWriter.WriteUuid(writer, id);
        return writer.WrittenSpan.ToArray();
    }

    public async Task SendAsync(params byte[][] chunks)
    {
        foreach (var chunk in chunks)
        {
            await _socket.SendAsync(chunk, SocketFlags.None);
        }
    }

    /// <summary>Closes the sending side (what Asterisk does on hangup, mid-frame here).</summary>
    public void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    private async Task ReadAsync()
    {
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var read = await _socket.ReceiveAsync(buffer, SocketFlags.None);
                if (read == 0)
                {
                    break;
                }

                // Audio frames are whole 323-byte units on loopback in practice; a 0x00 header anywhere on a
                // frame boundary is the hangup. Scan frames properly, keeping each.
                ScanForHangup(buffer.AsSpan(0, read));
            }
        }
        catch (SocketException e)
        {
            EndedWithReset = e.SocketErrorCode == SocketError.ConnectionReset;
        }
        catch (ObjectDisposedException)
        {
        }

        _closed.TrySetResult(_hangupReceived);
    }

    private readonly List<byte> _pending = [];

    private void ScanForHangup(ReadOnlySpan<byte> bytes)
    {
        _pending.AddRange(bytes.ToArray());
        var sequence = new ReadOnlySequence<byte>(_pending.ToArray());
        while (AudioSocketFrameReader.TryRead(sequence, out var frame, out var consumed))
        {
            if (frame.Kind == AudioSocketKind.Hangup)
            {
                _hangupReceived = true;
            }

            Frames.Enqueue((frame.Kind, frame.Payload.ToArray()));

            sequence = sequence.Slice(consumed);
        }

        var left = sequence.ToArray();
        _pending.Clear();
        _pending.AddRange(left);
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
