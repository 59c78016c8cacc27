using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using AstraPbx.Audio.AudioSocket;
using AstraPbx.Audio.Codecs;
using AstraPbx.MediaRelay.Gateway;
using AstraPbx.MediaRelay.Sessions;

namespace AstraPbx.MediaRelay.Caller;

/// <summary>The Asterisk side of a session, once Asterisk claimed it: the AudioSocket read loop (caller audio to the
/// gateway as it arrives, DTMF, hangup, bad input) and the <see cref="CallerPlayout"/> the shared clock ticks.</summary>
/// <remarks>With <c>uplinkFramesPerMessage</c> above 1 (<c>Relay:UplinkFramesPerMessage</c>) caller audio goes to the
/// gateway in messages of that many 20 ms frames (2: 40 ms, as Pipecat sends), fewer messages for up to 20 ms more
/// uplink delay per extra frame; DTMF flushes what is batched first, so the order holds. A batch the caller does not
/// complete (silence suppression: nothing more comes; or the call ends) is sent as it is once it has waited
/// <see cref="BatchWaitTicks"/> playout ticks, by the tick cancelling the pending pipe read: no timer per session.</remarks>
internal sealed class CallerLeg(CallerPlayout playout, GatewayLeg gateway, ISessionControl session, ILogger logger, int uplinkFramesPerMessage = 1)
{
    /// <summary>The largest payload accepted from Asterisk: 20 ms at 96 kHz is 3840 bytes; anything bigger is refused
    /// before its payload is awaited.</summary>
    public const int MaxPayloadFromCaller = 8192;

    /// <summary>The largest PCM message to a gateway at <paramref name="gatewayRate"/>: the largest caller frame, scaled
    /// up when an 8 kHz frame (the lowest rate accepted) is resampled to a 16 kHz binary-mode session (a dialplan that
    /// disagrees with its route).</summary>
    public static int MaxPcmToGateway(int gatewayRate) => MaxPayloadFromCaller * gatewayRate / 8000;

    /// <summary>Playout ticks a started batch waits for its next frame (20-40 ms: a caller sending every 20 ms completes
    /// it in time).</summary>
    internal const int BatchWaitTicks = 2;

    private PipeReader? _input;
    private Timer? _stopReading; // kept here: an unreferenced timer may be collected before it fires
    private int _readStopped;
    private int _batchOpen;
    private int _batchTicks;
    private int _flushRequested;

    // Hot-path buffers, one set per session: nothing is allocated per frame.
    // Sized for the session's own 20 ms frame (320 or 640 bytes) and grown once for a larger frame (up to
    // MaxPayloadFromCaller); the resampling buffer only for a session that resamples (Twilio mode with a 16 kHz caller).
    private byte[] _inFrame = new byte[AudioSocketFormat.FrameBytes(AudioSocketFormat.SampleRate(playout.Kind))];
    private byte[] _resampled = [];
    private readonly byte[]? _batch = uplinkFramesPerMessage > 1 ? new byte[MaxPcmToGateway(playout.GatewayRate)] : null;
    private readonly int _batchTarget = uplinkFramesPerMessage * AudioSocketFormat.FrameBytes(playout.GatewayRate);
    private int _batched;

    private long _partialSince;
    private bool _mismatchLogged;
    private long _framesToGateway;
    private long _bytesToGateway;

    /// <summary>The paced writer toward Asterisk.</summary>
    public CallerPlayout Playout { get; } = playout;

    /// <summary>How long a frame Asterisk started has waited for the rest of its bytes (zero between whole frames: a
    /// silent caller sends nothing, and that is not a fault).</summary>
    public TimeSpan Stalled => Interlocked.Read(ref _partialSince) is var since and not 0 ? Stopwatch.GetElapsedTime(since) : TimeSpan.Zero;

    public long FramesToGateway => Interlocked.Read(ref _framesToGateway);

    public long BytesToGateway => Interlocked.Read(ref _bytesToGateway);

    /// <summary>Stops reading what Asterisk still sends after <paramref name="delay"/>, whoever ended the call: the
    /// pending read is cancelled (<see cref="PipeReader.CancelPendingRead"/>). Not a cancellation token on every read:
    /// a pending pipe read registers a callback on its token, and one is pending for every frame.</summary>
    public void StopReadingAfter(TimeSpan delay) =>
        Interlocked.CompareExchange(ref _stopReading, new Timer(static state => ((CallerLeg)state!).StopReading(), this, delay, Timeout.InfiniteTimeSpan), null);

    private void StopReading()
    {
        Volatile.Write(ref _readStopped, 1);
        Volatile.Read(ref _input)?.CancelPendingRead();
    }

    /// <summary>Reads the claimed connection (its UUID frame already consumed) until Asterisk closes it or, after the
    /// end, the read is stopped.</summary>
    public async Task RunAsync(PipeReader input, PipeWriter output)
    {
        Volatile.Write(ref _input, input);
        if (_batch is not null)
        {
            Playout.UplinkTick = FlushStaleBatch;
        }

        Playout.Attach(output);
        while (true)
        {
            ReadResult result;
            try
            {
                if (Volatile.Read(ref _readStopped) == 1)
                {
                    return;
                }

                result = await input.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled && Volatile.Read(ref _readStopped) == 1)
                {
                    input.AdvanceTo(result.Buffer.End);
                    return;
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or System.Net.Sockets.SocketException)
            {
                // A SocketException is what our own reset (linger 0) leaves a pending read with.
                await session.EndAsync(EndReason.CallerReset).ConfigureAwait(false);
                return;
            }

            var buffer = result.Buffer;
            if (session.IsEnded)
            {
                // After our 0x00, Asterisk closes; read what it still sends so the close is not a reset.
                input.AdvanceTo(buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    return;
                }

                continue;
            }

            EndReason? bad = null;
            var framesRead = false;
            while (bad is null && !session.IsEnded)
            {
                if (AudioSocketFrameReader.PeekLength(buffer) > MaxPayloadFromCaller)
                {
                    bad = EndReason.OversizedFrame;
                    break;
                }

                if (!AudioSocketFrameReader.TryRead(buffer, out var frame, out var consumed))
                {
                    break;
                }

                bad = await HandleFrameAsync(frame).ConfigureAwait(false);
                buffer = buffer.Slice(consumed);
                framesRead = true;
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            NotePartial(buffer.IsEmpty, framesRead);
            if (bad is { } reason)
            {
                MediaRelayLog.MalformedInput(logger, session.CallId, session.SessionId, reason.ToWire());
                await session.EndAsync(reason).ConfigureAwait(false);
                continue;
            }

            if (result.IsCompleted && !session.IsEnded)
            {
                await session.EndAsync(buffer.IsEmpty ? EndReason.CallerClosed : EndReason.TruncatedFrame).ConfigureAwait(false);
                return;
            }

            if (result.IsCanceled && Interlocked.Exchange(ref _flushRequested, 0) == 1)
            {
                // The tick's request (FlushStaleBatch), not an end: the batch goes out as it is.
                await FlushBatchAsync().ConfigureAwait(false);
                if (!result.IsCompleted)
                {
                    continue;
                }
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                return;
            }
        }
    }

    /// <summary>From the playout tick (batching only): a batch that has waited <see cref="BatchWaitTicks"/> ticks for its
    /// next frame wakes the read loop, which sends it as it is.</summary>
    private void FlushStaleBatch()
    {
        if (Volatile.Read(ref _batchOpen) == 1 && ++_batchTicks >= BatchWaitTicks && Interlocked.Exchange(ref _flushRequested, 1) == 0)
        {
            Volatile.Read(ref _input)?.CancelPendingRead();
        }
    }

    /// <summary>Starts the stall clock when a frame is left incomplete, keeps it while more of it trickles in, and stops
    /// it once the buffer ends on a frame boundary.</summary>
    private void NotePartial(bool onBoundary, bool framesRead)
    {
        if (onBoundary)
        {
            Interlocked.Exchange(ref _partialSince, 0);
        }
        else if (framesRead || Interlocked.Read(ref _partialSince) == 0)
        {
            // The partial frame left now is a new one whenever whole frames were read before it: reads that end inside
            // frames (a backlog read in fixed chunks) are progress, not a stall.
            Interlocked.Exchange(ref _partialSince, Stopwatch.GetTimestamp());
        }
    }

    /// <summary>Sends the caller audio batched so far (<c>Relay:UplinkFramesPerMessage</c>), if any.</summary>
    private async ValueTask FlushBatchAsync()
    {
        if (_batched > 0)
        {
            var length = _batched;
            _batched = 0;
            Volatile.Write(ref _batchOpen, 0);
            await gateway.SendAudioAsync(_batch.AsMemory(0, length)).ConfigureAwait(false);
        }
    }

    /// <summary>One frame from Asterisk; returns the reason when it is bad input.</summary>
    private async ValueTask<EndReason?> HandleFrameAsync(AudioSocketFrame frame)
    {
        if (logger.IsEnabled(LogLevel.Trace))
        {
            MediaRelayLog.FrameFromCaller(logger, session.CallId, session.SessionId, (byte)frame.Kind, frame.Length);
        }

        switch (frame.Kind)
        {
            case var kind when AudioSocketFormat.IsAudio(kind):
                var rate = AudioSocketFormat.SampleRate(kind);
                if (rate is not (8000 or 16000))
                {
                    return EndReason.UnsupportedAudioKind;
                }

                if (frame.Length == 0 || (frame.Length & 1) != 0)
                {
                    return EndReason.BadAudioLength;
                }

                if (kind != Playout.Kind && !_mismatchLogged)
                {
                    // The route said one format and Asterisk sends another (a dialplan edited by hand?): the audio is
                    // resampled both ways, and the playout keeps the prepared kind.
                    _mismatchLogged = true;
                    MediaRelayLog.CallerKindMismatch(logger, session.CallId, session.SessionId, (byte)Playout.Kind, (byte)kind);
                }

                if (frame.Length > _inFrame.Length)
                {
                    _inFrame = new byte[frame.Length];
                }

                frame.Payload.CopyTo(_inFrame);
                var pcm = _inFrame.AsMemory(0, frame.Length);
                var gatewayRate = Playout.GatewayRate;
                if (rate != gatewayRate)
                {
                    // Twilio mode is 8 kHz whatever the caller's rate (PROTOCOLS.md 2), and a caller sending another kind
                    // than prepared is converted to the session's rate. At the same rate the bytes pass through as they are.
                    var needed = Resampler.OutputLength(frame.Length, rate, gatewayRate);
                    if (needed > _resampled.Length)
                    {
                        _resampled = new byte[needed];
                    }

                    var length = Resampler.Resample(pcm.Span, rate, _resampled, gatewayRate);
                    pcm = _resampled.AsMemory(0, length);
                }

                Interlocked.Increment(ref _framesToGateway);
                Interlocked.Add(ref _bytesToGateway, frame.Length);
                RelayTelemetry.FramesToGateway.Add(1);
                if (_batch is null)
                {
                    await gateway.SendAudioAsync(pcm).ConfigureAwait(false);
                    return null;
                }

                if (_batched + pcm.Length > _batch.Length)
                {
                    await FlushBatchAsync().ConfigureAwait(false);
                }

                pcm.Span.CopyTo(_batch.AsSpan(_batched));
                if (_batched == 0)
                {
                    _batchTicks = 0;
                    Volatile.Write(ref _batchOpen, 1);
                }

                _batched += pcm.Length;
                if (_batched >= _batchTarget)
                {
                    await FlushBatchAsync().ConfigureAwait(false);
                }

                return null;

            case AudioSocketKind.Dtmf:
                if (frame.Length != 1)
                {
                    return EndReason.BadDtmf;
                }

                var digit = (char)frame.Payload.FirstSpan[0];
                if (!(char.IsAsciiDigit(digit) || digit is '*' or '#' or (>= 'A' and <= 'D')))
                {
                    return EndReason.BadDtmf;
                }

                await FlushBatchAsync().ConfigureAwait(false);
                await gateway.SendDtmfAsync(digit).ConfigureAwait(false);
                return null;

            case AudioSocketKind.Error:
                await session.EndAsync(EndReason.CallerError).ConfigureAwait(false);
                return null;

            case AudioSocketKind.Hangup:
                await session.EndAsync(EndReason.CallerHangup).ConfigureAwait(false);
                return null;

            case AudioSocketKind.Uuid:
                return EndReason.UnexpectedUuid;

            default:
                return EndReason.UnknownKind;
        }
    }
}
