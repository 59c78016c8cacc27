using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net.Sockets;
using AstraPbx.Audio.AudioSocket;

namespace AstraPbx.Simulators.AudioSocket;

/// <summary>Dials a relay as Asterisk's AudioSocket does (PROTOCOLS.md section 1): connects as the TCP client,
/// sends the UUID frame first, then one audio frame every 20 ms (320 bytes at 8 kHz, 640 at 16 kHz) from
/// <see cref="IAudioSource"/> (none at all for a silent caller), and on hangup closes the socket without a 0x00 frame.
/// It records every frame it receives with its arrival time, and ends the call as app_audiosocket would: on a 0x00
/// frame, a graceful close, a reset, a kind Asterisk rejects, or (with <see cref="CallerOptions.IdleTimeout"/>) 2 s
/// with no activity on either side, closing its socket each time.</summary>
public sealed partial class AudioSocketCaller : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly PipeWriter _output;
    private readonly Stream _stream;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly TaskCompletionSource<CallerEnd> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _sending = Task.CompletedTask;
    private Task _receiving = Task.CompletedTask;
    private Task _watching = Task.CompletedTask;
    private long _lastActivity = Stopwatch.GetTimestamp();
    private readonly bool _record;
    private readonly ReceivedFrameHandler? _onFrame;
    private CallerPacer? _pacer;
    private CallerReceiver? _receiver;
    private long _receiverId;
    private byte[] _inbox = [];
    private int _inboxCount;
    private IAudioSource _source = null!;
    private byte[] _pacedFrame = [];

    private AudioSocketCaller(Socket socket, AudioSocketKind kind, bool record = true, ReceivedFrameHandler? onFrame = null)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        _output = PipeWriter.Create(_stream);
        Kind = kind;
        _record = record;
        _onFrame = onFrame;
    }

    /// <summary>The audio kind this caller sends (0x10 for AudioSocket(), 0x12 for the channel driver's slin16).</summary>
    public AudioSocketKind Kind { get; }

    /// <summary>Every frame received from the relay, in order, with its arrival time since connect.</summary>
    public ConcurrentQueue<ReceivedFrame> Received { get; } = new();

    /// <summary>Audio frames sent so far.</summary>
    public long FramesSent => Interlocked.Read(ref _framesSent);

    private long _framesSent;

    /// <summary>Paced ticks at which no frame went out because the previous write was still blocked (the relay
    /// is not reading fast enough). Only with a <see cref="CallerPacer"/>.</summary>
    public long FramesSkipped => Interlocked.Read(ref _framesSkipped);

    private long _framesSkipped;

    /// <summary>Completes when the call ends, saying how.</summary>
    public Task<CallerEnd> Ended => _ended.Task;

    /// <summary>Time since connect, on the clock <see cref="ReceivedFrame.At"/> uses.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Connects to <paramref name="host"/>:<paramref name="port"/>, sends the UUID frame and starts sending audio
    /// from <paramref name="source"/> (silence when null) at real-time pace.</summary>
    public static Task<AudioSocketCaller> DialAsync(string host, int port, Guid sessionId, IAudioSource? source = null,
        AudioSocketKind kind = AudioSocketKind.Slin, CancellationToken cancellationToken = default) =>
        DialAsync(host, port, sessionId, new CallerOptions { Source = source, Kind = kind }, cancellationToken);

    /// <summary>Like <see cref="DialAsync(string, int, Guid, IAudioSource?, AudioSocketKind, CancellationToken)"/>, with
    /// the load tool's knobs: a shared <see cref="CallerPacer"/> instead of a timer per call, and a per-frame callback
    /// instead of recording copies of every frame.</summary>
    public static async Task<AudioSocketCaller> DialAsync(string host, int port, Guid sessionId, CallerOptions options,
        CancellationToken cancellationToken = default)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            // app_audiosocket gives up connecting after 2000 ms (MAX_CONNECT_TIMEOUT_MSEC).
            connectTimeout.CancelAfter(options.ConnectTimeout);
            try
            {
                await socket.ConnectAsync(host, port, connectTimeout.Token).ConfigureAwait(false);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        var caller = new AudioSocketCaller(socket, options.Kind, options.RecordReceived, options.OnFrame);
        await caller.WriteFrameAsync(w => AudioSocketFrameWriter.WriteUuid(w, sessionId)).ConfigureAwait(false);
        if (options.Receiver is { } receiver)
        {
            caller._inbox = new byte[4096];
            caller._receiver = receiver;
            caller._receiverId = receiver.Add(caller, socket);
        }
        else
        {
            caller._receiving = caller.ReceiveAsync();
        }

        if (options.IdleTimeout is { } idle)
        {
            caller._watching = caller.WatchIdleAsync(idle);
        }

        var source = options.Source ?? new SilenceSource(AudioSocketFormat.SampleRate(options.Kind));
        if (options.Silent)
        {
            // A channel with no media: ast_waitfor_nandfds never wakes for it, so app_audiosocket writes nothing.
        }
        else if (options.Pacer is { } pacer)
        {
            caller._source = source;
            caller._pacedFrame = new byte[AudioSocketFormat.FrameBytes(AudioSocketFormat.SampleRate(options.Kind))];
            caller._pacer = pacer;
            pacer.Add(caller);
        }
        else
        {
            caller._sending = caller.SendAudioAsync(source);
        }

        return caller;
    }

    /// <summary>Sends a DTMF frame (0x03) with the ASCII digit.</summary>
    public Task SendDtmfAsync(char digit) =>
        WriteFrameAsync(w => AudioSocketFrameWriter.Write(w, AudioSocketKind.Dtmf, [(byte)digit]));

    /// <summary>Sends any frame, for tests of what the relay does with bad input.</summary>
    public Task SendRawAsync(ReadOnlyMemory<byte> bytes) => WriteRawAsync(bytes);

    /// <summary>The caller hangs up: Asterisk closes the socket and sends no 0x00 frame.</summary>
    public async Task HangUpAsync()
    {
        await StopSendingAsync().ConfigureAwait(false);

        // Recorded before the shutdown: the shutdown makes the receive loop read end-of-stream, and it must not take
        // that for the relay closing (the simulated channel would then end with cause 16 instead of the caller's).
        _ended.TrySetResult(CallerEnd.CallerHungUp);
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The call already ended (the relay hung up or the connection broke): nothing left to close.
        }

        _socket.Close();
    }

    private async Task StopSendingAsync()
    {
        _pacer?.Remove(this);
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _sending.ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task SendAudioAsync(IAudioSource source)
    {
        var frameBytes = AudioSocketFormat.FrameBytes(AudioSocketFormat.SampleRate(Kind));
        var frame = new byte[frameBytes];
        var frameTicks = Stopwatch.Frequency / 50;
        var next = Stopwatch.GetTimestamp();
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            source.Fill(frame, FramesSent);
            var sent = false;
            await _writeLock.WaitAsync(token).ConfigureAwait(false);
            try
            {
                AudioSocketFrameWriter.Write(_output, Kind, frame);
                var flush = await _output.FlushAsync(token).ConfigureAwait(false);
                sent = !flush.IsCompleted;
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
            {
                _ended.TrySetResult(CallerEnd.ConnectionLost);
                return;
            }
            finally
            {
                _writeLock.Release();
            }

            if (sent)
            {
                Interlocked.Increment(ref _framesSent);
                MarkActivity();
            }

            // An absolute schedule: a late tick does not push every later frame back.
            next += frameTicks;
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, token).ConfigureAwait(false);
            }
        }
    }

    private async Task ReceiveAsync()
    {
        var input = PipeReader.Create(_stream);
        try
        {
            while (true)
            {
                var result = await input.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                var arrived = Stopwatch.GetTimestamp();
                MarkActivity();
                if (HandleFrames(ref buffer, arrived) is { } end)
                {
                    await EndAsync(end).ConfigureAwait(false);
                    return;
                }

                input.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    await EndAsync(WasReset() ? CallerEnd.ConnectionLost : CallerEnd.RelayClosed).ConfigureAwait(false);
                    return;
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // Asterisk closes its socket whatever ended AudioSocket(); a reset seen here is a failure (FAILED).
            await EndAsync(_stop.IsCancellationRequested ? CallerEnd.CallerHungUp : CallerEnd.ConnectionLost).ConfigureAwait(false);
        }
    }

    /// <summary>Hands every whole frame in <paramref name="buffer"/> to the recorder and the callback, leaving the rest in
    /// it; returns how the call ends when a frame ends it (as app_audiosocket would), else null.</summary>
    private CallerEnd? HandleFrames(ref ReadOnlySequence<byte> buffer, long arrived)
    {
        while (AudioSocketFrameReader.TryRead(buffer, out var frame, out var consumed))
        {
            if (_record)
            {
                Received.Enqueue(new ReceivedFrame(_clock.Elapsed, frame.Kind, frame.Payload.ToArray()));
            }

            _onFrame?.Invoke(frame.Kind, frame.Payload, arrived);
            buffer = buffer.Slice(consumed);
            if (frame.Kind == AudioSocketKind.Hangup)
            {
                return CallerEnd.RelayHungUp;
            }

            if (!AudioSocketFormat.IsAudio(frame.Kind) || frame.Length == 0)
            {
                // ast_audiosocket_receive_frame: any other kind, or empty audio, ends the call.
                return CallerEnd.RejectedFrame;
            }
        }

        return null;
    }

    /// <summary>On the shared <see cref="CallerReceiver"/>'s thread, when the socket is readable: one read, then every
    /// whole frame in what has arrived, stamped <paramref name="arrived"/> (with the receiver's kernel stamps: the read's
    /// own stamp, converted through <paramref name="realNs"/>, the wall clock read with <paramref name="arrived"/>). Returns
    /// how the call ends when it does (the receiver then stops reading it and calls <see cref="EndFromReceiver"/>), else
    /// null.</summary>
    internal CallerEnd? ReceiveReady(long arrived, long realNs)
    {
        CallerEnd? end;
        try
        {
            var into = _inbox.AsSpan(_inboxCount);
            int read;
            SocketError error;
            if (_receiver is { UsesKernelStamps: true })
            {
                // At most the rest of one frame, so that the read's stamp is that frame's.
                read = KernelStamps.Receive(_socket, into[..Math.Min(into.Length, BytesToFrameEnd())], ref arrived, realNs, out error);
            }
            else
            {
                read = _socket.Receive(into, SocketFlags.None, out error);
            }

            if (error is SocketError.WouldBlock or SocketError.Interrupted)
            {
                return null;
            }

            if (error != SocketError.Success)
            {
                end = _stop.IsCancellationRequested ? CallerEnd.CallerHungUp : CallerEnd.ConnectionLost;
            }
            else if (read == 0)
            {
                end = WasReset() ? CallerEnd.ConnectionLost : CallerEnd.RelayClosed;
            }
            else
            {
                MarkActivity();
                _inboxCount += read;
                var buffer = new ReadOnlySequence<byte>(_inbox, 0, _inboxCount);
                end = HandleFrames(ref buffer, arrived);
                // Keep the partial frame at the front; a frame longer than the inbox grows it (at most 3 + 65535 bytes).
                var left = (int)buffer.Length;
                _inbox.AsSpan(_inboxCount - left, left).CopyTo(_inbox);
                _inboxCount = left;
                if (_inboxCount == _inbox.Length)
                {
                    Array.Resize(ref _inbox, _inbox.Length * 2);
                }
            }
        }
        catch (ObjectDisposedException)
        {
            end = CallerEnd.CallerHungUp;
        }

        return end;
    }

    /// <summary>Bytes that complete the frame begun in the inbox (its header says how long it is; before the header, an
    /// audio frame at this call's rate is assumed).</summary>
    private int BytesToFrameEnd()
    {
        var length = _inboxCount >= 3
            ? BinaryPrimitives.ReadUInt16BigEndian(_inbox.AsSpan(1, 2))
            : AudioSocketFormat.FrameBytes(AudioSocketFormat.SampleRate(Kind));
        return Math.Max(1, 3 + length - _inboxCount);
    }

    /// <summary>Ends the call as the receive loop would have, once the receiver no longer reads it.</summary>
    internal void EndFromReceiver(CallerEnd how) => _ = EndAsync(how);

    /// <summary>app_audiosocket's loop waits up to 2000 ms for a frame from the channel or bytes from the socket,
    /// restarting the wait after each; when neither came it gives up (returns -1).</summary>
    private async Task WatchIdleAsync(TimeSpan timeout)
    {
        var token = _stop.Token;
        try
        {
            while (true)
            {
                var idle = Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastActivity));
                if (idle >= timeout)
                {
                    await EndAsync(CallerEnd.IdleTimeout).ConfigureAwait(false);
                    return;
                }

                await Task.Delay(timeout - idle, token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // The call ended some other way.
        }
    }

    private void MarkActivity() => Interlocked.Exchange(ref _lastActivity, Stopwatch.GetTimestamp());

    /// <summary>After the end of the stream: a reset or a FIN? The reset's error may have gone to a concurrent frame
    /// write, leaving the read only an end of stream. An empty send tells them apart: after a FIN the socket is still
    /// open for sending (CLOSE_WAIT), after a reset it is closed and the send fails (EPIPE).</summary>
    private bool WasReset()
    {
        try
        {
            _socket.Send(ReadOnlySpan<byte>.Empty, SocketFlags.None);
            return false;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    private async Task EndAsync(CallerEnd how)
    {
        _ended.TrySetResult(how);
        await StopSendingAsync().ConfigureAwait(false);
        _socket.Close();
    }

    private async Task WriteFrameAsync(Action<IBufferWriter<byte>> write)
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            write(_output);
            await _output.FlushAsync().ConfigureAwait(false);
            MarkActivity();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task WriteRawAsync(ReadOnlyMemory<byte> bytes)
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            await _output.WriteAsync(bytes).ConfigureAwait(false);
            MarkActivity();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopSendingAsync().ConfigureAwait(false);
        _receiver?.Remove(_receiverId, _socket);
        _socket.Dispose();
        try
        {
            await _receiving.ConfigureAwait(false);
            await _watching.ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }

        _ended.TrySetResult(CallerEnd.CallerHungUp);
        _stop.Dispose();
        _writeLock.Dispose();
    }
}
