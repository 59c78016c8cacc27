using System.Buffers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using AstraPbx.MediaRelay.Io;

namespace AstraPbx.MediaRelay.Gateway;

/// <summary>The gateway connection's socket, as the stream under its upgrade and WebSocket (and TLS, for wss://), whose reads
/// the playout clock can serve. .NET's socket engine reads again after every message until the kernel says
/// <c>EAGAIN</c> (edge-triggered epoll): two <c>recv</c> calls and an epoll wake-up per bot message, where a paced stream
/// needs one read per 20 ms. Once the session is ticked (<see cref="Poll"/>, from its playout tick), a read waits for the
/// next tick, which makes one non-blocking <c>recv</c> for it on the clock's thread: no wake-up, no second call, and the
/// whole receive path (WebSocket framing, decoding, the jitter buffer) runs right there, just before that tick's frame
/// goes to Asterisk. A bot that goes quiet (a Pipecat bot sends only while speaking) costs a <c>recv</c> per tick only
/// briefly: after <see cref="IdlePolls"/> empty ticks the read goes back to an async read (epoll), and the next
/// read after it is polled again. Before the first tick (the handshake, a greeting before Asterisk connects) and after
/// <see cref="StopTicking"/> (the session's end: the close handshake) every read is an ordinary async read, waiting on the
/// relay's own epoll (<see cref="SocketIo"/>), so that the socket never joins the socket engine, which would wake for
/// every segment the bot sends.</summary>
internal sealed class TickedSocketStream : DuplexStream, IValueTaskSource<int>, IHeldWrites
{
    /// <summary>Empty ticks in a row after which a waiting read goes back to epoll (60 ms: longer than any gap in a
    /// paced stream, shorter than a pause in speech).</summary>
    internal const int IdlePolls = 3;

    /// <summary>Reads one tick may make while each fills the reader's buffer (a burst from the bot queued in the kernel).</summary>
    internal const int MaxReadsPerTick = 8;

    /// <summary>A tick's read smaller than this takes up to this much from the kernel, and keeps what the reader did
    /// not ask for (<see cref="_ahead"/>) for its next reads. The WebSocket reads a message in two small pieces (its
    /// header buffer, then exactly the payload) and then tries the next header: three <c>recv</c> calls per bot message
    /// and tick, the last finding nothing, where one does.</summary>
    internal const int ReadAhead = 4096;

    [ThreadStatic]
    private static byte[]? t_scratch;

    private readonly Socket _socket;
    private readonly SocketIo _io;
    private readonly object _gate = new();
    private readonly object _writeGate = new();
    private ManualResetValueTaskSourceCore<int> _core; // continuations run inline: on the tick, or on the socket's completion
    private Memory<byte> _pending;
    private bool _hasPending;
    private bool _ticked;
    private bool _stopped;
    private bool _disposed;
    private int _emptyPolls;
    private bool _burst;
    private long _bursts;
    private long _polledReads;
    private long _idleHandOffs;
    private byte[]? _ahead; // bytes a tick read past its reader's buffer; rented only while some are left
    private byte[]? _held; // written during a send pass (or behind such bytes), not sent yet
    private int _heldLength;
    private Task? _draining; // held bytes the socket could not take at the pass's end, going as it drains
    private bool _enlisted; // in this pass's list: its end sends what is held
    private Exception? _writeFault;
    private int _aheadStart;
    private int _aheadEnd;

    public TickedSocketStream(Socket socket, bool ownWaits = true)
        : this(SocketIo.For(socket, ownWaits))
    {
    }

    /// <summary>Over <paramref name="io"/>'s socket, which is non-blocking: the tick's Receive must never block the
    /// clock's thread.</summary>
    public TickedSocketStream(SocketIo io)
    {
        _io = io;
        _socket = io.Socket;
    }

    /// <summary>Floods drained by async reads (see <see cref="Poll"/>).</summary>
    public long Bursts => Interlocked.Read(ref _bursts);

    /// <summary>Reads served by a tick.</summary>
    public long PolledReads => Interlocked.Read(ref _polledReads);

    /// <summary>Reads handed back to an async read after <see cref="IdlePolls"/> empty ticks.</summary>
    public long IdleHandOffs => Interlocked.Read(ref _idleHandOffs);

    /// <summary>The session's playout tick, on the clock's thread: from the first call on, reads wait for a tick; a read
    /// waiting now gets one non-blocking <c>recv</c>, and its continuation (the receive path) runs here.</summary>
    public void Poll()
    {
        var full = false;
        for (var i = 0; i < MaxReadsPerTick && (full = PollOnce(extra: i > 0)); i++)
        {
        }

        if (full)
        {
            // Every read of the tick filled its buffer: a flood (a bot sending far faster than real time), which a tick's
            // few reads would take minutes to drain. Async reads take it as fast as it comes, until one finds nothing
            // queued (ReceiveBurstAsync); then the tick reads again. They start on the thread pool, not here: started on
            // the tick, each read completes at once while the flood is queued and runs the receive path inline, so a bot
            // sending faster than the relay reads would keep the lane's playout thread for as long as it sent.
            Volatile.Write(ref _burst, true);
            HandToAsyncRead(offTick: true);
        }
    }

    /// <summary>One read for the read waiting now; true when it filled that read's buffer (more may be queued: a burst)
    /// and the tick may read again.</summary>
    private bool PollOnce(bool extra)
    {
        int count;
        bool full;
        Exception? error = null;
        lock (_gate)
        {
            // The recv runs under the lock (it never blocks): a dispose on another thread cannot complete the read, and
            // hand its buffer back to its owner, while bytes are still being written into it.
            if (_stopped)
            {
                return false;
            }

            _ticked = true;
            if (!_hasPending)
            {
                return false;
            }

            var target = _pending.Span;
            var readAhead = target.Length < ReadAhead;
            var into = readAhead ? (t_scratch ??= new byte[ReadAhead]).AsSpan() : target;
            try
            {
                count = _socket.Receive(into, SocketFlags.None, out var socketError);
                if (socketError == SocketError.WouldBlock)
                {
                    // Only a tick's first read counts toward going idle: an extra one finding nothing means caught up.
                    if (extra || ++_emptyPolls < IdlePolls)
                    {
                        return false;
                    }

                    count = -1;
                }
                else if (socketError != SocketError.Success)
                {
                    error = Wrap(new SocketException((int)socketError));
                    count = 0;
                }
            }
            catch (ObjectDisposedException e)
            {
                count = 0;
                error = e;
            }

            full = error is null && count == into.Length;
            if (readAhead && count > target.Length)
            {
                // More came than the reader asked for (the WebSocket asks for a header's few bytes, then exactly the
                // payload): the rest waits here for its next reads, which it gets without a recv.
                var rest = count - target.Length;
                _ahead = ArrayPool<byte>.Shared.Rent(rest);
                into.Slice(target.Length, rest).CopyTo(_ahead);
                _aheadStart = 0;
                _aheadEnd = rest;
                count = target.Length;
            }

            if (readAhead && count > 0)
            {
                into[..count].CopyTo(target);
            }

            if (count >= 0)
            {
                _pending = default;
                _hasPending = false;
            }

            _emptyPolls = 0;
        }

        if (count < 0)
        {
            Interlocked.Increment(ref _idleHandOffs);
            HandToAsyncRead();
            return false;
        }

        Interlocked.Increment(ref _polledReads);
        SetResult(count, error);
        return full;
    }

    /// <summary>The session ends (its close handshake still reads): every read from here on is an async read,
    /// including one waiting for a tick now.</summary>
    public void StopTicking()
    {
        lock (_gate)
        {
            _stopped = true;
            _ticked = false;
        }

        HandToAsyncRead();
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.Length > 0)
        {
            lock (_gate)
            {
                if (_ahead is not null)
                {
                    return new ValueTask<int>(TakeAhead(buffer.Span));
                }

                if (!cancellationToken.CanBeCanceled && _ticked && !_disposed && !Volatile.Read(ref _burst))
                {
                    if (_hasPending)
                    {
                        throw new InvalidOperationException("Only one read at a time.");
                    }

                    _core.Reset();
                    _pending = buffer;
                    _hasPending = true;
                    return new ValueTask<int>(this, _core.Version);
                }
            }
        }

        return Volatile.Read(ref _burst) ? ReceiveBurstAsync(buffer, cancellationToken) : ReceiveAsync(buffer, cancellationToken);
    }

    /// <summary>Under the gate: the reader's next bytes from what a tick read ahead.</summary>
    private int TakeAhead(Span<byte> destination)
    {
        var count = Math.Min(destination.Length, _aheadEnd - _aheadStart);
        _ahead.AsSpan(_aheadStart, count).CopyTo(destination);
        _aheadStart += count;
        if (_aheadStart == _aheadEnd)
        {
            ArrayPool<byte>.Shared.Return(_ahead!);
            _ahead = null;
        }

        return count;
    }

    // Pooled state machines (as GatewayStream.AwaitRead): a read that has to wait otherwise allocates its
    // box each time (about 15 MB per 20 s in a 250-call run with the relay behind, AllocationTick trace).
    /// <summary>A read of a flood: the flood is drained, and reads go back to the ticks, once a read finds nothing queued
    /// and has to wait (or comes back short). A full read alone says nothing: the WebSocket reads a message's header into
    /// its small buffer and then exactly the payload's length, so nearly every read fills its buffer, and a "short read"
    /// rule kept a session whose bot once sent four messages at once on the socket engine for the rest of the call (at
    /// 100 calls, 14-25 % of the relay's CPU on the engine's thread).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReceiveBurstAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var read = ReceiveAsync(buffer, cancellationToken);
        var drained = !read.IsCompleted;
        var count = await read.ConfigureAwait(false);
        if (drained || count < buffer.Length)
        {
            Volatile.Write(ref _burst, false);
            Interlocked.Increment(ref _bursts);
        }

        return count;
    }

    /// <summary>An ordinary async read, failing as <see cref="NetworkStream"/> does (an <see cref="IOException"/> around
    /// the socket's error), which is what the upgrade, TLS and the WebSocket above expect.</summary>
    private ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        ValueTask<int> read;
        try
        {
            read = _io.ReceiveAsync(buffer, cancellationToken);
        }
        catch (SocketException e)
        {
            return ValueTask.FromException<int>(Wrap(e));
        }
        catch (ObjectDisposedException e)
        {
            return ValueTask.FromException<int>(e);
        }

        return read.IsCompletedSuccessfully ? read : AwaitReceiveAsync(read);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<int> AwaitReceiveAsync(ValueTask<int> read)
    {
        try
        {
            return await read.ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw Wrap(e);
        }
    }

    private static IOException Wrap(SocketException e) =>
        new("Unable to read or write the transport connection: " + e.SocketErrorCode, e);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(Span<byte> buffer) => throw new NotSupportedException("The gateway connection is read asynchronously.");

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <summary>Holds writes made during a playout thread's <see cref="SendPass"/> (the tick's caller pass) and sends them
    /// at its end (<see cref="RelayOptions.UplinkSendPass"/>); writes that come while some are held queue behind them, so
    /// the bytes leave in the order written.</summary>
    public bool HoldWritesInPass { get; init; }

    /// <summary>The most bytes held for a pass's end: a write that would hold more first sends what is held, in the call
    /// (as the pass's end would), and waits like any write when the socket cannot take it all. A pass holds a frame or two
    /// per session (a backlog: at most the tick's reads, 16 KiB); without a bound, a caller leg that kept forwarding inside
    /// a pass would hold everything a bot that stopped reading never took, and no send would ever wait long enough for
    /// <see cref="RelayOptions.GatewaySendTimeout"/> to end the session.</summary>
    internal const int MaxHeldBytes = 32 * 1024;

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (HoldWritesInPass)
        {
            lock (_writeGate)
            {
                if (_writeFault is not null)
                {
                    return ValueTask.FromException(_writeFault);
                }

                if (_draining is { IsCompleted: false } draining)
                {
                    return WriteAfterDrainAsync(draining, buffer, cancellationToken);
                }

                if (_heldLength > 0 && _heldLength + buffer.Length > MaxHeldBytes)
                {
                    SendHeldNow();
                    if (_writeFault is not null)
                    {
                        return ValueTask.FromException(_writeFault);
                    }

                    if (_draining is { IsCompleted: false } behind)
                    {
                        return WriteAfterDrainAsync(behind, buffer, cancellationToken);
                    }
                }

                if (_heldLength > 0 || SendPass.IsOpen)
                {
                    if (!_enlisted && SendPass.IsOpen)
                    {
                        _enlisted = true;
                        SendPass.Enlist(this);
                    }

                    Hold(buffer.Span);
                    return default;
                }
            }
        }

        return SendAsync(buffer, cancellationToken);
    }

    private ValueTask SendAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        // A write that fits the socket's buffer completes in the call (one send); only a full buffer waits.
        ValueTask<int> send;
        try
        {
            send = _io.SendAsync(buffer, cancellationToken);
        }
        catch (SocketException e)
        {
            return ValueTask.FromException(Wrap(e));
        }

        if (send.IsCompletedSuccessfully && send.Result == buffer.Length)
        {
            return default;
        }

        return FinishWriteAsync(send, buffer, cancellationToken);
    }

    private async ValueTask FinishWriteAsync(ValueTask<int> send, ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            var sent = await send.ConfigureAwait(false);
            while (sent < buffer.Length)
            {
                sent += await _io.SendAsync(buffer[sent..], cancellationToken).ConfigureAwait(false);
            }
        }
        catch (SocketException e)
        {
            throw Wrap(e);
        }
    }

    /// <summary>Under the write gate: appends to the held bytes.</summary>
    private void Hold(ReadOnlySpan<byte> bytes)
    {
        var needed = _heldLength + bytes.Length;
        if (_held is null || _held.Length < needed)
        {
            var grown = new byte[Math.Max(needed, Math.Max(1024, (_held?.Length ?? 0) * 2))];
            _held?.AsSpan(0, _heldLength).CopyTo(grown);
            _held = grown;
        }

        bytes.CopyTo(_held.AsSpan(_heldLength));
        _heldLength = needed;
    }

    /// <summary>The pass's end, on its thread: the held bytes go in non-blocking sends; what the socket cannot take now
    /// goes as it drains (<see cref="DrainAsync"/>), and writes wait behind it. A failed send is kept for the next
    /// write, which throws it (the read side sees the broken connection on its own).</summary>
    void IHeldWrites.SendHeld()
    {
        lock (_writeGate)
        {
            _enlisted = false;
            SendHeldNow();
        }
    }

    /// <summary>Under the write gate: sends the held bytes now, as far as the socket takes them; the rest drains. Nothing
    /// when a drain already has them.</summary>
    private void SendHeldNow()
    {
        if (_heldLength == 0 || _draining is { IsCompleted: false })
        {
            return;
        }

        var sent = 0;
        try
        {
            while (sent < _heldLength)
            {
                var count = _socket.Send(_held.AsSpan(sent, _heldLength - sent), SocketFlags.None, out var error);
                if (error == SocketError.WouldBlock)
                {
                    break;
                }

                if (error != SocketError.Success)
                {
                    Fail(Wrap(new SocketException((int)error)));
                    return;
                }

                sent += count;
            }
        }
        catch (ObjectDisposedException e)
        {
            Fail(e);
            return;
        }

        Consume(sent);
        if (_heldLength > 0)
        {
            _draining = DrainAsync();
        }
    }

    /// <summary>Under the write gate: drops the first <paramref name="count"/> held bytes (sent).</summary>
    private void Consume(int count)
    {
        _held.AsSpan(count, _heldLength - count).CopyTo(_held);
        _heldLength -= count;
    }

    /// <summary>Under the write gate: nothing held is sent any more; the next write throws <paramref name="fault"/>.</summary>
    private void Fail(Exception fault)
    {
        _writeFault = fault;
        _heldLength = 0;
    }

    /// <summary>Sends the held bytes the pass's end could not, as the socket takes them.</summary>
    private async Task DrainAsync()
    {
        try
        {
            while (true)
            {
                ReadOnlyMemory<byte> rest;
                lock (_writeGate)
                {
                    if (_heldLength == 0)
                    {
                        return;
                    }

                    rest = _held.AsMemory(0, _heldLength);
                }

                var sent = await _io.SendAsync(rest, CancellationToken.None).ConfigureAwait(false);
                lock (_writeGate)
                {
                    Consume(sent);
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            lock (_writeGate)
            {
                Fail(e is SocketException socketError ? Wrap(socketError) : e);
            }
        }
    }

    private async ValueTask WriteAfterDrainAsync(Task draining, ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        await draining.WaitAsync(cancellationToken).ConfigureAwait(false);
        await WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(ReadOnlySpan<byte> buffer) => throw new NotSupportedException("The gateway connection is written asynchronously.");

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            lock (_gate)
            {
                _disposed = true;
                _stopped = true;
                _ticked = false;
                if (_ahead is not null)
                {
                    ArrayPool<byte>.Shared.Return(_ahead);
                    _ahead = null;
                }
            }

            lock (_writeGate)
            {
                _heldLength = 0;
            }

            _io.Dispose();
            Complete(0, new ObjectDisposedException(nameof(TickedSocketStream)));
        }

        base.Dispose(disposing);
    }

    int IValueTaskSource<int>.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    /// <summary>A read waiting for a tick becomes an async read instead; its result completes it from there, on the thread
    /// pool when <paramref name="offTick"/> (a flood), else from this call when the bytes are already in.</summary>
    private void HandToAsyncRead(bool offTick = false)
    {
        Memory<byte> buffer;
        lock (_gate)
        {
            if (!_hasPending)
            {
                return;
            }

            buffer = _pending;
            _pending = default;
            _hasPending = false;
        }

        if (offTick)
        {
            ThreadPool.UnsafeQueueUserWorkItem(
                static state => _ = state.Stream.ForwardAsync(state.Stream.ReceiveAsync(state.Buffer, CancellationToken.None)),
                (Stream: this, Buffer: buffer), preferLocal: false);
            return;
        }

        _ = ForwardAsync(ReceiveAsync(buffer, CancellationToken.None));
    }

    /// <summary>Completes the handed-off read with the async read's result (at once when it is already in).</summary>
    private async Task ForwardAsync(ValueTask<int> read)
    {
        int count;
        try
        {
            count = await read.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            SetResult(0, e);
            return;
        }

        SetResult(count, null);
    }

    /// <summary>Completes the read waiting for a tick, if there is one.</summary>
    private void Complete(int count, Exception? error)
    {
        lock (_gate)
        {
            if (!_hasPending)
            {
                return;
            }

            _pending = default;
            _hasPending = false;
        }

        SetResult(count, error);
    }

    private void SetResult(int count, Exception? error)
    {
        if (error is null)
        {
            _core.SetResult(count);
        }
        else
        {
            _core.SetException(error);
        }
    }
}
