using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace AstraPbx.MediaRelay.Gateway;

/// <summary>The gateway connection's byte stream under the WebSocket (after the upgrade, and after TLS for wss://), with
/// the keep-alive the relay runs itself. The runtime's own ping/pong keep-alive arms a timer per WebSocket that fires four
/// times per keep-alive period (a thread-pool work item and a wake-up each: 400 per second at 100 calls, even while audio
/// flows and no ping is ever due). Here one loop checks every session (<see cref="Check"/>, from the session watchdog):
/// any bytes from the bot within <see cref="RelayOptions.GatewayKeepAliveInterval"/> prove it alive; after that much
/// silence a ping goes out, and if nothing at all arrives within <see cref="RelayOptions.GatewayKeepAliveTimeout"/> of it,
/// the check reports the gateway dead. The WebSocket writes each frame in one call (header and payload), so a ping is
/// written whole between two of its frames, never inside one.</summary>
internal sealed class GatewayStream(Stream inner, TimeSpan interval, TimeSpan timeout) : WrappingStream(inner)
{
    private const int MaskPoolBytes = 4096;

    private readonly SemaphoreSlim _write = new(1, 1);
    // The mask pool is per thread, not per connection (4 KiB per session otherwise): the sends run on a few threads (the
    // playout ticks, the socket engine's), and a mask only has to be unpredictable to the bot, not private to it.
    [ThreadStatic]
    private static byte[]? t_masks;

    [ThreadStatic]
    private static int t_maskOffset;
    private byte[] _frame = new byte[1024];
    private readonly long _intervalMs = (long)interval.TotalMilliseconds;
    private readonly long _timeoutMs = (long)timeout.TotalMilliseconds;
    private long _lastReceived = Environment.TickCount64;
    private long _pingSentAt;
    private long _pings;

    /// <summary>The socket under the connection when the playout tick reads it (<see cref="RelayOptions.TickedGatewayReads"/>;
    /// null when off).</summary>
    public TickedSocketStream? Ticked { get; init; }

    /// <summary>Pings sent so far.</summary>
    public long Pings => Interlocked.Read(ref _pings);

    /// <summary>The keep-alive check, at <paramref name="now"/> (<see cref="Environment.TickCount64"/>): sends a ping when
    /// the bot has been silent for the interval; returns false once a ping has gone unanswered (nothing received) for the
    /// timeout. Called from one thread only (the watchdog).</summary>
    public bool Check(long now)
    {
        var lastReceived = Volatile.Read(ref _lastReceived);
        if (_pingSentAt != 0)
        {
            if (lastReceived >= _pingSentAt)
            {
                _pingSentAt = 0;
                return true;
            }

            return now - _pingSentAt <= _timeoutMs;
        }

        if (now - lastReceived >= _intervalMs)
        {
            // Counted from now even when the write lock is busy (a frame is still being written: the bot is not reading);
            // a bot that sends nothing back within the timeout is dead either way.
            _pingSentAt = now;
            TrySendPing();
        }

        return true;
    }

    /// <summary>Writes one whole data message (a single frame, masked as a client's frames must be) straight to the
    /// connection, for the relay's per-frame sends: the same bytes the WebSocket would write, without its per-send
    /// work (a mask drawn from the system's random generator per frame, one OpenSSL call and a <c>getpid</c> each). The
    /// masks come from a per-thread pool of cryptographically random bytes refilled every 1,024 frames. One caller at a time
    /// (the gateway leg's send lock); the WebSocket's own frames (handshake, pongs, close) are serialised with these by
    /// the write lock.</summary>
    public ValueTask SendMessageAsync(WebSocketMessageType type, ReadOnlySpan<byte> payload)
    {
        var header = payload.Length < 126 ? 2 : payload.Length <= ushort.MaxValue ? 4 : 10;
        var length = header + 4 + payload.Length;
        if (_frame.Length < length)
        {
            _frame = new byte[Math.Max(length, _frame.Length * 2)];
        }

        var frame = _frame.AsSpan(0, length);
        frame[0] = (byte)(0x80 | (type == WebSocketMessageType.Text ? 0x1 : 0x2));
        switch (header)
        {
            case 2:
                frame[1] = (byte)(0x80 | payload.Length);
                break;
            case 4:
                frame[1] = 0x80 | 126;
                BinaryPrimitives.WriteUInt16BigEndian(frame[2..], (ushort)payload.Length);
                break;
            default:
                frame[1] = 0x80 | 127;
                BinaryPrimitives.WriteUInt64BigEndian(frame[2..], (ulong)payload.Length);
                break;
        }

        var masks = t_masks;
        if (masks is null || t_maskOffset == MaskPoolBytes)
        {
            masks = t_masks ??= new byte[MaskPoolBytes];
            RandomNumberGenerator.Fill(masks);
            t_maskOffset = 0;
        }

        var mask = masks.AsSpan(t_maskOffset, 4);
        t_maskOffset += 4;
        mask.CopyTo(frame[header..]);
        Mask(payload, frame[(header + 4)..], BinaryPrimitives.ReadUInt32LittleEndian(mask));
        return WriteAsync(_frame.AsMemory(0, length));
    }

    /// <summary>RFC 6455 5.3: byte i of the payload XOR byte i % 4 of the mask, eight bytes at a time.</summary>
    internal static void Mask(ReadOnlySpan<byte> source, Span<byte> destination, uint mask)
    {
        var wide = mask | ((ulong)mask << 32);
        var i = 0;
        for (; i + 8 <= source.Length; i += 8)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(destination[i..], BinaryPrimitives.ReadUInt64LittleEndian(source[i..]) ^ wide);
        }

        for (; i < source.Length; i++)
        {
            destination[i] = (byte)(source[i] ^ (byte)(mask >> (8 * (i & 3))));
        }
    }

    private void TrySendPing()
    {
        if (!_write.Wait(0))
        {
            return;
        }

        Span<byte> count = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(count, Interlocked.Increment(ref _pings));
        var frame = ControlFrame(0x9, count);
        ValueTask write;
        try
        {
            write = Inner.WriteAsync(frame);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The connection is gone; the WebSocket's receive loop reports it.
            _write.Release();
            return;
        }

        _ = ReleaseWhenWritten(write);
    }

    /// <summary>Writes a control frame (a pong, a close: <see cref="GatewayWebSocket"/>) whole, between two other frames.
    /// The payload is copied before this returns.</summary>
    internal ValueTask SendControlAsync(byte opcode, ReadOnlySpan<byte> payload) => WriteAsync(ControlFrame(opcode, payload));

    /// <summary>A control frame (at most 125 bytes of payload), masked as a client's frames must be, with a fresh
    /// random mask (control frames are rare: pings after silence, pongs, the close).</summary>
    internal static byte[] ControlFrame(byte opcode, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[2 + 4 + payload.Length];
        frame[0] = (byte)(0x80 | opcode); // FIN + the opcode
        frame[1] = (byte)(0x80 | payload.Length); // masked
        RandomNumberGenerator.Fill(frame.AsSpan(2, 4));
        Mask(payload, frame.AsSpan(6), BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(2, 4)));
        return frame;
    }

    private async Task ReleaseWhenWritten(ValueTask write)
    {
        try
        {
            await write.ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            // As above.
        }
        finally
        {
            _write.Release();
        }
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = Inner.ReadAsync(buffer, cancellationToken);
        if (!read.IsCompletedSuccessfully)
        {
            return AwaitRead(read);
        }

        var count = read.Result;
        Received(count);
        return new ValueTask<int>(count);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> AwaitRead(ValueTask<int> read)
    {
        var count = await read.ConfigureAwait(false);
        Received(count);
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(Span<byte> buffer)
    {
        var count = Inner.Read(buffer);
        Received(count);
        return count;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <summary>A read from the connection under this stream, for a reader that reports what it got itself
    /// (<see cref="Received"/>): one await less per read than <see cref="ReadAsync(Memory{byte}, CancellationToken)"/>.</summary>
    internal ValueTask<int> ReadUnderAsync(Memory<byte> buffer, CancellationToken cancellationToken) => Inner.ReadAsync(buffer, cancellationToken);

    /// <summary>Bytes came from the bot: it is alive.</summary>
    internal void Received(int count)
    {
        if (count > 0)
        {
            Volatile.Write(ref _lastReceived, Environment.TickCount64);
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!_write.Wait(0))
        {
            return WriteAfterPingAsync(buffer, cancellationToken);
        }

        ValueTask write;
        try
        {
            write = Inner.WriteAsync(buffer, cancellationToken);
        }
        catch
        {
            _write.Release();
            throw;
        }

        if (!write.IsCompletedSuccessfully)
        {
            return ReleaseAfter(write);
        }

        write.GetAwaiter().GetResult();
        _write.Release();
        return default;
    }

    private async ValueTask WriteAfterPingAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        await _write.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await Inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _write.Release();
        }
    }

    private async ValueTask ReleaseAfter(ValueTask write)
    {
        try
        {
            await write.ConfigureAwait(false);
        }
        finally
        {
            _write.Release();
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _write.Wait();
        try
        {
            Inner.Write(buffer);
        }
        finally
        {
            _write.Release();
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
}
