using System.Diagnostics;
using System.IO.Pipelines;
using AstraPbx.Audio.AudioSocket;
using AstraPbx.Audio.Codecs;
using AstraPbx.MediaRelay.Gateway;
using AstraPbx.MediaRelay.Media;
using AstraPbx.MediaRelay.Sessions;

namespace AstraPbx.MediaRelay.Caller;

/// <summary>The paced writer toward Asterisk: the shared clock ticks it, and each tick writes exactly one 20 ms frame (bot
/// audio from the jitter buffer, or silence) and echoes the marks that became due, from the claim on and in the kind the
/// session was prepared for (<c>StartAiSession.CallerSampleRate</c>): a silent caller sends nothing, and Asterisk ends an
/// AudioSocket with no activity on either side after 2 s (PROTOCOLS.md 1). Only the clock writes audio, so the frame
/// writer has a single writer; the end path takes the same gate to write the final 0x00. A peer that stops reading gets
/// skipped ticks, never an unbounded queue.</summary>
internal sealed class CallerPlayout(AudioSocketKind kind, JitterBuffer jitter, GatewayLeg gateway, ISessionControl session, ILogger logger) : IPlayoutTarget
{
    /// <summary>How long the output to Asterisk may stay blocked (Asterisk not reading) before the session ends. Real
    /// time, not ticks: it is about the peer's socket, not the playout schedule.</summary>
    private static readonly TimeSpan BlockedLimit = TimeSpan.FromSeconds(2);

    private readonly object _writeGate = new();

    private readonly int _rate = AudioSocketFormat.SampleRate(kind);

    // Hot-path buffers, one set per session: nothing is allocated per frame. The jitter buffer's frames are at the
    // gateway rate; only a session whose gateway rate differs from the caller's (Twilio mode with a 16 kHz caller)
    // resamples them into the second.
    private readonly byte[] _frameBot = new byte[jitter.FrameBytes];
    private readonly byte[] _frameOut = new byte[AudioSocketFormat.FrameBytes(AudioSocketFormat.SampleRate(kind))];
    private PipeWriter? _output;
    private Task? _pendingFlush;
    private long _blockedSince;
    private long _skippedTicks;
    private bool _outputClosed;
    private bool _hangUpOnAttach;
    private long _framesToCaller;
    private long _bytesToCaller;
    private long _lateTicks;
    private double _maxLatenessMs;
    private long _reportedUnderruns;
    private long _reportedTrimmed;
    private long _reportedTrimmedForSkipped;

    public long FramesToCaller => Interlocked.Read(ref _framesToCaller);

    public long BytesToCaller => Interlocked.Read(ref _bytesToCaller);

    public long LateTicks => Interlocked.Read(ref _lateTicks);

    public double MaxLatenessMs => Volatile.Read(ref _maxLatenessMs);

    /// <summary>Ticks whose frame was skipped because Asterisk's socket was full.</summary>
    public long SkippedTicks => _skippedTicks;

    /// <summary>The audio kind written to Asterisk: the one the session was prepared for (0x10 for <c>AudioSocket()</c>,
    /// 0x12 for <c>c(slin16)</c>).</summary>
    public AudioSocketKind Kind => kind;

    /// <summary>The bot audio's rate, in Hz: the jitter buffer's, the session's gateway rate.</summary>
    public int GatewayRate => jitter.SampleRate;

    /// <summary>True once the claimed connection's output is attached: ticks write from here on.</summary>
    public bool Attached => Volatile.Read(ref _output) is not null;

    /// <summary>The claimed connection's output; the clock may tick the session just before it is attached. A hangup
    /// asked for between the claim and here (the bot closed at that moment) is written now.</summary>
    public void Attach(PipeWriter output)
    {
        bool hangUp;
        lock (_writeGate)
        {
            _output = output;
            hangUp = _hangUpOnAttach;
        }

        if (hangUp)
        {
            _ = WriteHangupAsync(output, null);
        }
    }

    /// <summary>The gateway read of the tick's first pass (<see cref="GatewayLeg.PollTick"/>), so bot audio read now plays
    /// in this very tick.</summary>
    public Action? PollBot { get; set; }

    /// <summary>The caller connection's read of the tick's last pass (<see cref="Hosting.CallerConnection.Poll"/>), whose
    /// frames go to the bot right away.</summary>
    public Action? PollCaller { get; set; }

    public void ReadBot() => Poll(PollBot);

    public void ReadCaller() => Poll(PollCaller);

    private void Poll(Action? read)
    {
        try
        {
            read?.Invoke();
        }
        catch (Exception e)
        {
            TickFailed(e);
        }
    }

    private void TickFailed(Exception e)
    {
        MediaRelayLog.TickFailed(logger, e, session.CallId, session.SessionId);
        _ = session.EndAsync(EndReason.RelayError);
    }

    /// <summary>Called at the end of every tick: the caller leg's check for an uplink batch left waiting.</summary>
    public Action? UplinkTick { get; set; }

    /// <summary>The shared clock's tick: exactly one frame to Asterisk (bot audio or silence), then due marks.</summary>
    public void OnTick(long tick, double latenessMs, int skippedTicks)
    {
        try
        {
            if (latenessMs > PlayoutClock.LateThresholdMs)
            {
                Interlocked.Increment(ref _lateTicks);
            }

            if (latenessMs > _maxLatenessMs)
            {
                Volatile.Write(ref _maxLatenessMs, latenessMs);
            }

            // The clock stalled and skipped these ticks rather than burst them: their audio is now late.
            jitter.NoteSkippedTicks(skippedTicks);

            lock (_writeGate)
            {
                var output = _output;
                if (_outputClosed || output is null || session.IsEnded)
                {
                    // Ended: the clock drops the session at its end, but a tick already under way (or the one whose read
                    // ended it) may still get here while the connection closes.
                    return;
                }

                if (_pendingFlush is not null)
                {
                    if (!_pendingFlush.IsCompleted)
                    {
                        // Never queue unbounded audio behind a peer that is not reading: skip this tick's frame.
                        _skippedTicks++;
                        jitter.NoteSkippedTicks(1);
                        if (_blockedSince == 0)
                        {
                            _blockedSince = Stopwatch.GetTimestamp();
                        }
                        else if (Stopwatch.GetElapsedTime(_blockedSince) > BlockedLimit)
                        {
                            _ = session.EndAsync(EndReason.CallerNotReading);
                        }

                        return;
                    }

                    _pendingFlush = null;
                    _blockedSince = 0;
                }

                jitter.ReadFrame(_frameBot);
                ReadOnlySpan<byte> payload = _frameBot;
                if (_rate != jitter.SampleRate)
                {
                    var written = Resampler.Resample(_frameBot, jitter.SampleRate, _frameOut, _rate);
                    payload = _frameOut.AsSpan(0, written);
                }

                AudioSocketFrameWriter.Write(output, kind, payload);
                Interlocked.Increment(ref _framesToCaller);
                Interlocked.Add(ref _bytesToCaller, payload.Length);
                var flush = output.FlushAsync();
                if (!flush.IsCompletedSuccessfully)
                {
                    _pendingFlush = flush.AsTask();
                }
            }

            RelayTelemetry.FramesToCaller.Add(1);
            ReportJitterCounters();
            while (jitter.TryTakeDueMark(out var name))
            {
                _ = gateway.SendMarkAsync(name);
            }

            UplinkTick?.Invoke();
        }
        catch (Exception e)
        {
            TickFailed(e);
        }
    }

    /// <summary>Writes the final 0x00 (the dialplan continues) once any blocked flush has gone out, and writes nothing
    /// after it. Before the output is attached, the 0x00 waits for it.</summary>
    public Task HangUpAsync()
    {
        Task? pending;
        PipeWriter? output;
        lock (_writeGate)
        {
            if (_outputClosed)
            {
                return Task.CompletedTask;
            }

            _outputClosed = true;
            output = _output;
            if (output is null)
            {
                _hangUpOnAttach = true;
                return Task.CompletedTask;
            }

            pending = _pendingFlush;
        }

        return WriteHangupAsync(output, pending);
    }

    private static async Task WriteHangupAsync(PipeWriter output, Task? pending)
    {
        try
        {
            if (pending is not null)
            {
                await pending.WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            }

            AudioSocketFrameWriter.WriteHangup(output);
            await output.FlushAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);

            // The output is not completed here: that closes the socket at once, and a socket closed with caller audio
            // still unread is reset, and a reset can destroy the 0x00 before Asterisk has read it (the channel is then
            // hung up instead of the dialplan going on). The connection closes once Asterisk has closed its side (it
            // does on 0x00) or the read loop gives up 2 s later (RelaySession.EndAsync).
        }
        catch (Exception e) when (e is TimeoutException or IOException or InvalidOperationException or ObjectDisposedException)
        {
            // Asterisk is not reading or already gone; the connection is torn down when the handler returns.
        }
    }

    private void ReportJitterCounters()
    {
        var underruns = jitter.Underruns;
        if (underruns != _reportedUnderruns)
        {
            RelayTelemetry.Underruns.Add(underruns - _reportedUnderruns);
            _reportedUnderruns = underruns;
        }

        var trimmed = jitter.TrimmedFrames;
        if (trimmed != _reportedTrimmed)
        {
            // By cause: an operator tells a relay that stalls (skipped_ticks) from a bot whose audio comes late.
            var forSkipped = jitter.TrimmedForSkippedTicks;
            var newForSkipped = forSkipped - _reportedTrimmedForSkipped;
            var newForLateAudio = trimmed - _reportedTrimmed - newForSkipped;
            if (newForLateAudio > 0)
            {
                RelayTelemetry.TrimmedFrames.Add(newForLateAudio, new KeyValuePair<string, object?>("cause", "late_audio"));
            }

            if (newForSkipped > 0)
            {
                RelayTelemetry.TrimmedFrames.Add(newForSkipped, new KeyValuePair<string, object?>("cause", "skipped_ticks"));
            }

            _reportedTrimmed = trimmed;
            _reportedTrimmedForSkipped = forSkipped;
        }
    }
}
