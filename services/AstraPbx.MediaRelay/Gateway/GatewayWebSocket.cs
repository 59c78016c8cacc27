using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Text;

namespace AstraPbx.MediaRelay.Gateway;

/// <summary>The client side of the gateway's WebSocket (RFC 6455, no extensions), over its <see cref="GatewayStream"/>.
/// The runtime's WebSocket reads a message as a chain of awaits (its receive lock, the header into a 14-byte buffer
/// with a read of its own, then exactly the payload with another, each a state machine over the stream's): at 100 calls
/// that chain was 7 % of the relay's CPU, more than the decoding and the jitter buffer it fed. Here one read takes what
/// the kernel has (a tick's <c>recv</c> of up to <see cref="BufferBytes"/>), and every frame in it is parsed from
/// that buffer: a receive whose bytes are already buffered completes at once. Payloads are handed out as they arrive,
/// in pieces no larger than the caller's buffer (as the runtime's are); a ping is answered with a pong; a close
/// frame is reported as the runtime reports it. A frame that breaks the protocol (masked by the server, reserved bits
/// set, an unknown opcode, a fragmented or oversized control frame, a continuation with no message to continue, a new
/// message inside a fragmented one, a malformed close) throws a <see cref="WebSocketException"/> naming the fault;
/// the connection is then aborted by its owner. Sends of whole messages go through
/// <see cref="GatewayStream.SendMessageAsync"/>; one receiver and one sender at a time, as with any WebSocket.</summary>
internal sealed class GatewayWebSocket(GatewayStream stream) : WebSocket
{
    /// <summary>The receive buffer: a tick reads what the kernel holds for the session in one <c>recv</c> of up to this
    /// (several 20 ms messages after a late tick), and at this size the ticked read needs no read-ahead copy
    /// (<see cref="TickedSocketStream.ReadAhead"/>).</summary>
    internal const int BufferBytes = TickedSocketStream.ReadAhead;

    private const int MaxControlPayload = 125;

    private readonly object _stateGate = new();
    private byte[]? _buffer; // allocated by the first receive; never pooled (a read may still be filling it at an abort)
    private int _start;
    private int _end;
    private int _pieceStart;
    private int _pieceLength;
    private long _remaining; // payload bytes of the current data frame not handed out yet
    private bool _inFrame;
    private bool _frameFin;
    private WebSocketMessageType _messageType; // of the message in progress (its first frame's opcode)
    private bool _inMessage; // a data frame without FIN was received: the next data frame must be a continuation
    private WebSocketState _state = WebSocketState.Open;
    private WebSocketCloseStatus? _closeStatus;
    private string? _closeStatusDescription;

    public override WebSocketCloseStatus? CloseStatus => _closeStatus;

    public override string? CloseStatusDescription => _closeStatusDescription;

    public override WebSocketState State => _state;

    public override string? SubProtocol => null;

    public override void Abort()
    {
        lock (_stateGate)
        {
            if (_state is not (WebSocketState.Closed or WebSocketState.Aborted))
            {
                _state = WebSocketState.Aborted;
            }
        }

        stream.Dispose();
    }

    public override void Dispose()
    {
        lock (_stateGate)
        {
            if (_state is not (WebSocketState.Closed or WebSocketState.Aborted))
            {
                _state = WebSocketState.Closed;
            }
        }

        stream.Dispose();
    }

    public override async Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken)
    {
        await CloseOutputAsync(closeStatus, statusDescription, cancellationToken).ConfigureAwait(false);
        var discard = new byte[MaxControlPayload];
        while (_state == WebSocketState.CloseSent)
        {
            await ReceiveAsync(discard.AsMemory(), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Sends a close frame (<paramref name="closeStatus"/>, and the description, cut to what fits in a control
    /// frame); the receive side still reads until the gateway's close.</summary>
    public override async Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken)
    {
        lock (_stateGate)
        {
            _state = _state switch
            {
                WebSocketState.Open => WebSocketState.CloseSent,
                WebSocketState.CloseReceived => WebSocketState.Closed,
                _ => throw new WebSocketException(WebSocketError.InvalidState, $"the WebSocket is {_state}: no close can be sent"),
            };
        }

        var payload = new byte[MaxControlPayload];
        BinaryPrimitives.WriteUInt16BigEndian(payload, (ushort)closeStatus);
        var length = 2;
        if (!string.IsNullOrEmpty(statusDescription))
        {
            var description = statusDescription.AsSpan();
            while (Encoding.UTF8.GetByteCount(description) > MaxControlPayload - 2)
            {
                description = description[..^1];
            }

            length += Encoding.UTF8.GetBytes(description, payload.AsSpan(2));
        }

        await stream.SendControlAsync(0x8, payload.AsSpan(0, length)).AsTask().WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public override Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken) =>
        SendAsync(buffer.AsMemory(), messageType, endOfMessage, cancellationToken).AsTask();

    /// <summary>Sends one whole message (the relay never sends a message in pieces).</summary>
    public override ValueTask SendAsync(ReadOnlyMemory<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken)
    {
        if (!endOfMessage || messageType == WebSocketMessageType.Close)
        {
            throw new NotSupportedException("the gateway WebSocket sends whole data messages only");
        }

        if (_state is not (WebSocketState.Open or WebSocketState.CloseReceived))
        {
            throw new WebSocketException(WebSocketError.InvalidState, $"the WebSocket is {_state}: nothing can be sent");
        }

        return stream.SendMessageAsync(messageType, buffer.Span);
    }

    public override async Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken)
    {
        var result = await ReceiveAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
        return result.MessageType == WebSocketMessageType.Close
            ? new WebSocketReceiveResult(0, WebSocketMessageType.Close, true, _closeStatus, _closeStatusDescription)
            : new WebSocketReceiveResult(result.Count, result.MessageType, result.EndOfMessage);
    }

    /// <summary>The next piece of a data message (at most <paramref name="buffer"/>'s length), or the gateway's close.
    /// Pings are answered and pongs dropped on the way.</summary>
    public override async ValueTask<ValueWebSocketReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var result = await ReceivePieceAsync(buffer.Length, cancellationToken).ConfigureAwait(false);
        Piece.CopyTo(buffer.Span);
        return result;
    }

    /// <summary>The payload bytes of the last <see cref="ReceivePieceAsync"/>, in the receive buffer itself: valid until
    /// the next receive.</summary>
    public ReadOnlySpan<byte> Piece => _buffer.AsSpan(_pieceStart, _pieceLength);

    /// <summary>As <see cref="ReceiveAsync(Memory{byte}, CancellationToken)"/>, without the copy: the piece (at most
    /// <paramref name="maxBytes"/>) stays in the receive buffer (<see cref="Piece"/>), so the reader needs no buffer of
    /// its own for the call (the gateway leg: 2 KiB per session less, and one copy per message).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ValueWebSocketReceiveResult> ReceivePieceAsync(int maxBytes, CancellationToken cancellationToken)
    {
        _pieceLength = 0;
        if (_state is not (WebSocketState.Open or WebSocketState.CloseSent))
        {
            throw new WebSocketException(WebSocketError.InvalidState, $"the WebSocket is {_state}: nothing more can be received");
        }

        _buffer ??= GC.AllocateUninitializedArray<byte>(BufferBytes);
        while (true)
        {
            if (_inFrame)
            {
                var available = _end - _start;
                if (available > 0 || _remaining == 0)
                {
                    var count = (int)Math.Min(Math.Min(available, _remaining), maxBytes);
                    _pieceStart = _start;
                    _pieceLength = count;
                    _start += count;
                    _remaining -= count;
                    var end = _remaining == 0;
                    if (end)
                    {
                        _inFrame = false;
                        _inMessage = !_frameFin;
                    }

                    return new ValueWebSocketReceiveResult(count, _messageType, end && _frameFin);
                }
            }
            else
            {
                switch (ParseFrame())
                {
                    case Parsed.Close:
                        return new ValueWebSocketReceiveResult(0, WebSocketMessageType.Close, true);
                    case Parsed.Data or Parsed.Control:
                        continue;
                }
            }

            // More is needed. A read is only made when nothing of a data frame's payload is buffered, so what is left
            // is at most a partial header or control frame (under 140 bytes): it moves to the front first. The read is
            // the connection's own (a tick's recv), one await deep: the keep-alive is told here what came.
            if (_start != 0)
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _start = 0;
            }

            var read = await stream.ReadUnderAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw new WebSocketException(WebSocketError.ConnectionClosedPrematurely,
                    _inFrame || _start != _end || _inMessage
                        ? "the gateway's connection ended inside a WebSocket frame"
                        : "the gateway's connection ended without a WebSocket close");
            }

            stream.Received(read);
            _end += read;
        }
    }

    private enum Parsed
    {
        NeedMore,
        Data,
        Control,
        Close,
    }

    /// <summary>Parses the frame header at the front of the buffer: a data frame starts (its payload is handed out from
    /// there), a control frame is handled whole once its payload is buffered (a ping answered, a pong dropped, a close
    /// recorded).</summary>
    private Parsed ParseFrame()
    {
        var bytes = _buffer.AsSpan(_start, _end - _start);
        if (bytes.Length < 2)
        {
            return Parsed.NeedMore;
        }

        var first = bytes[0];
        var second = bytes[1];
        if ((second & 0x80) != 0)
        {
            throw Violation("a masked frame from the server");
        }

        if ((first & 0x70) != 0)
        {
            throw Violation("reserved bits set (no extension was negotiated)");
        }

        var fin = (first & 0x80) != 0;
        var opcode = first & 0x0F;
        var headerLength = 2;
        long length = second & 0x7F;
        if (length == 126)
        {
            if (bytes.Length < 4)
            {
                return Parsed.NeedMore;
            }

            length = BinaryPrimitives.ReadUInt16BigEndian(bytes[2..]);
            headerLength = 4;
        }
        else if (length == 127)
        {
            if (bytes.Length < 10)
            {
                return Parsed.NeedMore;
            }

            var wide = BinaryPrimitives.ReadUInt64BigEndian(bytes[2..]);
            if (wide > long.MaxValue)
            {
                throw Violation("a payload length with its top bit set");
            }

            length = (long)wide;
            headerLength = 10;
        }

        switch (opcode)
        {
            case 0x0 or 0x1 or 0x2:
                if (opcode == 0x0 && !_inMessage)
                {
                    throw Violation("a continuation frame with no message to continue");
                }

                if (opcode != 0x0 && _inMessage)
                {
                    throw Violation("a new data message inside a fragmented one");
                }

                if (opcode != 0x0)
                {
                    _messageType = opcode == 0x1 ? WebSocketMessageType.Text : WebSocketMessageType.Binary;
                }

                _start += headerLength;
                _remaining = length;
                _frameFin = fin;
                _inFrame = true;
                _inMessage = true;
                return Parsed.Data;
            case 0x8 or 0x9 or 0xA:
                if (!fin)
                {
                    throw Violation("a fragmented control frame");
                }

                if (length > MaxControlPayload)
                {
                    throw Violation($"a control frame of {length} bytes (at most {MaxControlPayload})");
                }

                if (bytes.Length < headerLength + length)
                {
                    return Parsed.NeedMore;
                }

                var payload = bytes.Slice(headerLength, (int)length);
                _start += headerLength + (int)length;
                if (opcode == 0x9)
                {
                    Pong(payload);
                }
                else if (opcode == 0x8)
                {
                    ReceivedClose(payload);
                    return Parsed.Close;
                }

                return Parsed.Control;
            default:
                throw Violation($"unknown opcode {opcode}");
        }
    }

    private void Pong(ReadOnlySpan<byte> ping)
    {
        if (_state is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            // Not awaited: the write lock orders it between whole frames; a failure shows on the next read or send.
            _ = PongAsync(stream.SendControlAsync(0xA, ping));
        }
    }

    private static async Task PongAsync(ValueTask write)
    {
        try
        {
            await write.ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            // The connection is gone: the receive side reports it.
        }
    }

    private void ReceivedClose(ReadOnlySpan<byte> payload)
    {
        var status = WebSocketCloseStatus.NormalClosure;
        string? description = null;
        if (payload.Length == 1)
        {
            throw Violation("a close frame with a one-byte payload");
        }

        if (payload.Length >= 2)
        {
            var code = BinaryPrimitives.ReadUInt16BigEndian(payload);
            if (code < 1000 || code is 1004 or 1005 or 1006 or 1015 || (code >= 1016 && code < 3000) || code >= 5000)
            {
                throw Violation($"a close frame with status {code}, which may not be sent");
            }

            status = (WebSocketCloseStatus)code;
            try
            {
                description = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(payload[2..]);
            }
            catch (DecoderFallbackException)
            {
                throw Violation("a close reason that is not UTF-8");
            }
        }

        lock (_stateGate)
        {
            _closeStatus = status;
            _closeStatusDescription = description ?? string.Empty;
            _state = _state switch
            {
                WebSocketState.Open => WebSocketState.CloseReceived,
                WebSocketState.CloseSent => WebSocketState.Closed,
                _ => _state,
            };
        }
    }

    private static WebSocketException Violation(string what) =>
        new(WebSocketError.Faulted, "WebSocket protocol error from the gateway: " + what);
}
