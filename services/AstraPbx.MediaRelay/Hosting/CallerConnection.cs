using System.IO.Pipelines;
using System.Net.Sockets;
using AstraPbx.MediaRelay.Io;

namespace AstraPbx.MediaRelay.Hosting;

/// <summary>One AudioSocket connection from Asterisk: its socket, and the pipes the admission path and the caller leg
/// use (caller frames in, paced frames out). Reads are async reads (epoll) until the session is ticked
/// (<see cref="StartTicking"/>); from then on the session's playout tick reads (<see cref="Poll"/>): one non-blocking
/// <c>recv</c> per tick, whose frames run through the caller leg to the bot right there, with no epoll wake-up and no
/// second <c>recv</c> that finds nothing (.NET's socket engine reads until <c>EAGAIN</c> after every message). A caller who
/// goes quiet (silence suppression sends nothing) costs a <c>recv</c> per tick only briefly: after
/// <see cref="IdlePolls"/> empty ticks the read goes back to epoll until the next bytes arrive. Writes go out from the
/// writer's own flush (<see cref="SocketOutput"/>: one <c>send</c> per frame, on the tick that wrote it).
/// Every wait (a read with nothing to read, a send with the buffer full) is on the relay's own epoll (<see cref="SocketIo"/>),
/// armed only while it waits, so the socket costs no wake-up between the tick's reads.
/// <para>Exactly one party fills the input pipe at a time: the async read loop, or a tick; <see cref="_owner"/> says
/// which, under <see cref="_gate"/>.</para></summary>
internal sealed class CallerConnection : ICallerTransport, IAsyncDisposable
{
    /// <summary>Empty ticks in a row after which the read goes back to epoll (the gateway's too).</summary>
    internal const int IdlePolls = Gateway.TickedSocketStream.IdlePolls;

    private const int MinimumRead = 2048;

    /// <summary>Reads one tick may make while each fills the buffer: 8 x 2 KiB is 25 frames at 8 kHz, 12 at 16 kHz, so a
    /// backlog drains within a few ticks while a steady stream (one frame per tick) takes one read.</summary>
    internal const int MaxReadsPerTick = 8;

    private const int None = 0;
    private const int Polling = 1;
    private const int AsyncReading = 2;
    private const int Done = 3;

    // Inline schedulers: a flush runs the reader's continuation in the writer's call (the caller leg on the tick or on
    // the socket's completion), as Kestrel's inline scheduling did. The output (SocketOutput) pauses at Kestrel's default
    // write buffer (64 KiB): a peer that stops reading blocks the flush, and the playout then skips frames rather than
    // queue them.
    private static readonly PipeOptions InputOptions = new(
        readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, minimumSegmentSize: MinimumRead, useSynchronizationContext: false);

    private static long s_ids;

    private readonly Socket _socket;
    private readonly SocketIo _io;
    private readonly Pipe _input = new(InputOptions);
    private readonly SocketOutput _output;
    private readonly object _gate = new();
    private int _owner = AsyncReading;
    private bool _ticked;
    private bool _stopped;
    private bool _reset;
    private int _emptyPolls;
    private long _polledReads;

    /// <summary>Takes an accepted connection; <paramref name="ownWaits"/>: wait on the relay's own epoll
    /// (<see cref="RelayOptions.OwnSocketWaits"/>). The socket is made non-blocking: a tick's Receive must never block
    /// the clock's thread.</summary>
    public CallerConnection(Socket socket, bool ownWaits = true)
    {
        _socket = socket;
        _socket.NoDelay = true;
        // Linger 0 from the start: if the relay dies (SIGKILL, OOM, a crash) the kernel's close then resets every
        // connection, so TryExec(AudioSocket(...)) gives FAILED and the caller falls back. A plain close on death is a
        // FIN whenever nothing unread is queued (a silent caller, or just after a tick's read), which Asterisk takes
        // for a hangup (PROTOCOLS.md 1). The graceful end turns it off again (DisposeAsync).
        _socket.LingerState = new LingerOption(true, 0);
        _io = SocketIo.For(socket, ownWaits);
        ConnectionId = "as-" + Interlocked.Increment(ref s_ids).ToString(System.Globalization.CultureInfo.InvariantCulture);
        Remote = socket.RemoteEndPoint?.ToString();
        _output = new SocketOutput(_io);
        _ = ReadLoopAsync();
    }

    public string ConnectionId { get; }

    public string? Remote { get; }

    public Socket? Socket => _socket;

    /// <summary>Caller frames, as they arrive.</summary>
    public PipeReader Input => _input.Reader;

    /// <summary>Frames to Asterisk; each flush sends.</summary>
    public PipeWriter Output => _output;

    /// <summary>Reads served by a tick.</summary>
    public long PolledReads => Interlocked.Read(ref _polledReads);

    /// <summary>The session is ticked: reads are the tick's from the next one on.</summary>
    public void StartTicking()
    {
        lock (_gate)
        {
            if (!_stopped)
            {
                _ticked = true;
            }
        }
    }

    /// <summary>The session's playout tick: one non-blocking <c>recv</c> into the input pipe, whose flush runs the caller
    /// leg over what came, on this thread; another only while each fills the whole buffer (a backlog after a stall), at
    /// most <see cref="MaxReadsPerTick"/>.</summary>
    public void Poll()
    {
        var full = false;
        for (var i = 0; i < MaxReadsPerTick && (full = PollOnce(extra: i > 0)); i++)
        {
        }

        if (full)
        {
            // Every read of the tick filled its buffer: far more than real time is queued. The async read loop reads it
            // as fast as it comes, until a read comes back short; then the tick reads again.
            TryStartReadLoop();
        }
    }

    /// <summary>Gives reading to the async loop, unless someone has it (a tick's read in progress hands it over itself).</summary>
    private void TryStartReadLoop()
    {
        lock (_gate)
        {
            if (_owner != None)
            {
                return;
            }

            _owner = AsyncReading;
        }

        StartReadLoopOffTick();
    }

    /// <summary>Starts the async read loop on the thread pool, never on the calling thread: called from a tick (a flood
    /// handed over, an idle caller, the end), whose thread is the lane's playout thread. Started inline there, the loop's
    /// reads complete at once while bytes are queued and run the caller leg right there, so a caller sending faster than
    /// the relay reads kept the playout thread (every session of its lane) in this loop for as long as it sent, inside
    /// the tick's send pass, whose held writes to the bot grew without bound.</summary>
    private void StartReadLoopOffTick() =>
        ThreadPool.UnsafeQueueUserWorkItem(static connection => _ = connection.ReadLoopAsync(), this, preferLocal: false);

    /// <summary>One read; true when it filled the buffer and the tick may read again.</summary>
    private bool PollOnce(bool extra)
    {
        int count;
        SocketError error;
        Memory<byte> memory;
        lock (_gate)
        {
            if (!_ticked || _stopped || _owner != None)
            {
                return false;
            }

            _owner = Polling;
            memory = _input.Writer.GetMemory(MinimumRead);
            try
            {
                count = _socket.Receive(memory.Span, SocketFlags.None, out error);
            }
            catch (ObjectDisposedException)
            {
                count = 0;
                error = SocketError.OperationAborted;
            }
        }

        if (error == SocketError.WouldBlock)
        {
            // Only a tick's first read counts toward going idle: an extra one finding nothing just means caught up.
            var handOff = !extra && ++_emptyPolls >= IdlePolls;
            if (handOff)
            {
                _emptyPolls = 0;
            }

            EndPoll(handOff);
            return false;
        }

        _emptyPolls = 0;
        Interlocked.Increment(ref _polledReads);
        if (error != SocketError.Success)
        {
            CompleteInput(new IOException("AudioSocket read failed: " + error, new SocketException((int)error)));
            return false;
        }

        if (count == 0)
        {
            CompleteInput(null);
            return false;
        }

        _input.Writer.Advance(count);
        var flush = _input.Writer.FlushAsync();
        if (!flush.IsCompleted)
        {
            // The caller leg did not take what came (a send to the bot is blocked): wait off the tick.
            _ = FinishFlushAsync(flush);
            return false;
        }

        if (flush.Result.IsCompleted)
        {
            CompleteInput(null);
            return false;
        }

        return EndPoll(handOff: false) && count == memory.Length;
    }

    /// <summary>The session ends: reads go back to the async read loop (the caller leg still reads until Asterisk closes).</summary>
    public void StopTicking()
    {
        lock (_gate)
        {
            _stopped = true;
            _ticked = false;
        }

        TryStartReadLoop();
    }

    /// <summary>Resets the connection (RST: linger 0, then close), so that <c>TryExec(AudioSocket(...))</c> gives
    /// <c>TRYSTATUS=FAILED</c> and the dialplan falls back (PROTOCOLS.md 1). The caller leg's read ends with an error.</summary>
    public void Reset()
    {
        bool complete;
        lock (_gate)
        {
            _reset = true;
            // A read in flight fails when the socket closes; a tick's read in progress ends the input itself.
            complete = _owner == None;
            if (complete)
            {
                _owner = Done;
            }
        }

        try
        {
            _socket.LingerState = new LingerOption(true, 0);
            _io.Dispose();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already gone: Asterisk saw the connection end its own way.
        }

        if (complete)
        {
            _input.Writer.Complete(ResetError());
        }
    }

    private static IOException ResetError() => new("AudioSocket reset: the dialplan falls back");

    /// <summary>After the handler: what was written goes out, then the socket is shut down and closed (a FIN: linger is
    /// turned off first; a reset only if <see cref="Reset"/> ran).</summary>
    public async ValueTask DisposeAsync()
    {
        await _output.CompleteAsync().ConfigureAwait(false);
        await _input.Reader.CompleteAsync().ConfigureAwait(false);
        try
        {
            await _output.Sent.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Asterisk is not reading: close anyway.
        }

        bool reset;
        lock (_gate)
        {
            reset = _reset;
        }

        try
        {
            if (!reset)
            {
                // A graceful end: what was written (the 0x00) goes out, then a FIN.
                _socket.LingerState = new LingerOption(false, 0);
            }

            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Reset or closed by the peer already.
        }

        _io.Dispose();
    }

    /// <summary>Ends a tick's read; true when the tick still owns reading (the input is back to no one).</summary>
    private bool EndPoll(bool handOff)
    {
        bool start;
        bool reset;
        lock (_gate)
        {
            if (_owner != Polling)
            {
                return false;
            }

            reset = _reset;
            start = !reset && (handOff || _stopped);
            _owner = reset ? Done : start ? AsyncReading : None;
        }

        if (reset)
        {
            _input.Writer.Complete(ResetError());
        }
        else if (start)
        {
            StartReadLoopOffTick();
        }

        return !reset && !start;
    }

    private async Task FinishFlushAsync(ValueTask<FlushResult> flush)
    {
        FlushResult result;
        try
        {
            result = await flush.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            CompleteInput(e);
            return;
        }

        if (result.IsCompleted)
        {
            CompleteInput(null);
            return;
        }

        EndPoll(handOff: false);
    }

    /// <summary>Reads asynchronously (<see cref="SocketIo"/>) while this loop owns the input: until the first read after ticking starts
    /// (or forever, when the session is never ticked or has stopped).</summary>
    private async Task ReadLoopAsync()
    {
        var writer = _input.Writer;
        try
        {
            while (true)
            {
                var memory = writer.GetMemory(MinimumRead);
                var count = await _io.ReceiveAsync(memory, CancellationToken.None).ConfigureAwait(false);
                if (count == 0)
                {
                    CompleteInput(null);
                    return;
                }

                writer.Advance(count);
                var flush = await writer.FlushAsync().ConfigureAwait(false);
                if (flush.IsCompleted)
                {
                    CompleteInput(null);
                    return;
                }

                lock (_gate)
                {
                    // A read that filled the buffer may have more behind it (a backlog): keep reading here until one
                    // comes back short.
                    if (_ticked && !_stopped && !_reset && count < memory.Length)
                    {
                        _owner = None;
                        return;
                    }
                }
            }
        }
        catch (SocketException e)
        {
            CompleteInput(new IOException("AudioSocket read failed: " + e.SocketErrorCode, e));
        }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
        {
            CompleteInput(new IOException("AudioSocket connection closed", e));
        }
    }

    private void CompleteInput(Exception? error)
    {
        lock (_gate)
        {
            if (_owner == Done)
            {
                return;
            }

            _owner = Done;
            if (_reset)
            {
                error ??= ResetError();
            }
        }

        _input.Writer.Complete(error);
    }
}
