using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace AstraPbx.MediaRelay.Io;

/// <summary>A writer straight onto a non-blocking socket (the AudioSocket connection's frames to Asterisk): a flush
/// sends what was written with one <c>send</c> on the writer's own thread (the playout tick) and completes at once. A
/// pipe with an inline reader did the same through a chain of awaits (the reader's loop woken, its read result, the
/// segments, the advance), 3 % of the relay's CPU at 100 calls for one 320-byte frame per call per tick. What the kernel
/// does not take at once (Asterisk not reading) waits here, in order, and goes out as the socket drains (a wait on the
/// relay's own epoll, <see cref="SocketIo"/>); from <see cref="PauseBytes"/> waiting (a pipe's default pause threshold)
/// a flush does not complete until the wait is down to <see cref="ResumeBytes"/>, so a writer that checks its flushes
/// (the playout skips frames then) never queues without bound. After a send fails (a reset, by Asterisk or by us) what is
/// written is dropped and every flush reports <see cref="FlushResult.IsCompleted"/>, as a pipe's does once its reader
/// is gone. One writer at a time, as with any <see cref="PipeWriter"/>.</summary>
internal sealed class SocketOutput(SocketIo io) : PipeWriter
{
    internal const int PauseBytes = 64 * 1024;

    internal const int ResumeBytes = 32 * 1024;

    private const int MinimumBuffer = 1024;

    private static readonly FlushResult Ended = new(isCanceled: false, isCompleted: true);

    private readonly object _gate = new();
    private readonly Queue<byte[]> _backlog = new(); // what the kernel did not take, in order
    private readonly TaskCompletionSource _sent = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private byte[]? _buffer; // the writer's, rented between GetSpan and FlushAsync: a connection holds none between frames
    private int _written;
    private int _backlogOffset;
    private int _backlogBytes;
    private bool _draining;
    private bool _completed;
    private bool _failed;
    private TaskCompletionSource<FlushResult>? _paused;

    /// <summary>Completes once the writer has completed and everything written has gone (or a send failed).</summary>
    public Task Sent => _sent.Task;

    /// <summary>Bytes written and flushed that the kernel has not taken yet.</summary>
    public int Backlog
    {
        get
        {
            lock (_gate)
            {
                return _backlogBytes;
            }
        }
    }

    public override Memory<byte> GetMemory(int sizeHint = 0) => Reserve(sizeHint).AsMemory(_written);

    public override Span<byte> GetSpan(int sizeHint = 0) => Reserve(sizeHint).AsSpan(_written);

    private byte[] Reserve(int sizeHint)
    {
        if (_completed)
        {
            throw new InvalidOperationException("the AudioSocket output is completed: nothing more can be written");
        }

        var needed = _written + Math.Max(sizeHint, 1);
        if (_buffer is null || needed > _buffer.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, MinimumBuffer));
            if (_buffer is not null)
            {
                _buffer.AsSpan(0, _written).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(_buffer);
            }

            _buffer = larger;
        }

        return _buffer;
    }

    public override void Advance(int bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (_written + bytes > (_buffer?.Length ?? 0))
        {
            throw new InvalidOperationException("advanced past the buffer the writer was given");
        }

        _written += bytes;
    }

    /// <summary>What was written since the last flush; the buffer goes back to the pool (once its bytes are sent or
    /// copied to the backlog: <see cref="ReturnBuffer"/>).</summary>
    private ReadOnlySpan<byte> TakeWritten()
    {
        var written = _buffer.AsSpan(0, _written);
        _written = 0;
        return written;
    }

    private void ReturnBuffer()
    {
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            try
            {
                return FlushLocked(TakeWritten());
            }
            finally
            {
                ReturnBuffer();
            }
        }
    }

    private ValueTask<FlushResult> FlushLocked(ReadOnlySpan<byte> data)
    {
        if (_failed)
        {
            return new ValueTask<FlushResult>(Ended);
        }

        if (data.IsEmpty)
        {
            return _paused is { } waiting ? new ValueTask<FlushResult>(waiting.Task) : default;
        }

        var sent = 0;
        if (!_draining)
        {
            SocketError error;
            try
            {
                sent = io.Socket.Send(data, SocketFlags.None, out error);
            }
            catch (ObjectDisposedException)
            {
                error = SocketError.OperationAborted;
            }

            if (error == SocketError.WouldBlock)
            {
                sent = 0;
            }
            else if (error != SocketError.Success)
            {
                FailLocked();
                return new ValueTask<FlushResult>(Ended);
            }
            else if (sent == data.Length)
            {
                return default;
            }
        }

        _backlog.Enqueue(data[sent..].ToArray());
        _backlogBytes += data.Length - sent;
        if (!_draining)
        {
            _draining = true;
            _ = DrainAsync();
        }

        if (_backlogBytes >= PauseBytes && !_failed)
        {
            _paused ??= new TaskCompletionSource<FlushResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            return new ValueTask<FlushResult>(_paused.Task);
        }

        return _failed ? new ValueTask<FlushResult>(Ended) : default;
    }

    /// <summary>Sends the backlog as the socket takes it, oldest first; the writer keeps adding behind it.</summary>
    private async Task DrainAsync()
    {
        try
        {
            while (true)
            {
                byte[] chunk;
                int offset;
                lock (_gate)
                {
                    if (_backlog.Count == 0 || _failed)
                    {
                        _draining = false;
                        if (_completed)
                        {
                            _sent.TrySetResult();
                        }

                        return;
                    }

                    chunk = _backlog.Peek();
                    offset = _backlogOffset;
                }

                var sent = await io.SendAsync(chunk.AsMemory(offset), CancellationToken.None).ConfigureAwait(false);
                lock (_gate)
                {
                    _backlogOffset += sent;
                    _backlogBytes -= sent;
                    if (_backlogOffset == chunk.Length)
                    {
                        _backlog.Dequeue();
                        _backlogOffset = 0;
                    }

                    if (_paused is { } paused && _backlogBytes <= ResumeBytes)
                    {
                        _paused = null;
                        paused.TrySetResult(default);
                    }
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
        {
            lock (_gate)
            {
                _draining = false;
                FailLocked();
            }
        }
    }

    /// <summary>A send failed: what waits is dropped, a paused flush and every later one report the end.</summary>
    private void FailLocked()
    {
        _failed = true;
        _backlog.Clear();
        _backlogBytes = 0;
        _backlogOffset = 0;
        var paused = _paused;
        _paused = null;
        paused?.TrySetResult(Ended);
        _sent.TrySetResult();
    }

    public override void CancelPendingFlush()
    {
        lock (_gate)
        {
            var paused = _paused;
            _paused = null;
            paused?.TrySetResult(new FlushResult(isCanceled: true, isCompleted: false));
        }
    }

    /// <summary>No more writes; <see cref="Sent"/> completes once what waits has gone.</summary>
    public override void Complete(Exception? exception = null)
    {
        lock (_gate)
        {
            _completed = true;
            _written = 0;
            ReturnBuffer();
            if (!_draining)
            {
                _sent.TrySetResult();
            }
        }
    }
}
