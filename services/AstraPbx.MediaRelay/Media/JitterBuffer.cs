using AstraPbx.Audio.AudioSocket;
using AstraPbx.MediaRelay.Gateway;

namespace AstraPbx.MediaRelay.Media;

/// <summary>Bot audio waiting for playout: 16-bit PCM at the session's gateway rate (8 kHz, or 16 kHz for a wideband
/// binary-mode session), re-framed into 20 ms frames (<see cref="FrameBytes"/>: 320 bytes at 8 kHz, 640 at 16 kHz), one
/// per playout tick. Also tracks <c>mark</c>s by stream position, so a mark is due only once the audio queued before it
/// has been played. Thread-safe: the gateway loop writes, the clock reads.
/// <para>The buffer itself decides when playout starts (priming) and stops (an underrun); the bytes are a
/// <see cref="PcmRing"/>, the marks a <see cref="MarkQueue"/>, and the delay a gap or missed ticks added is given back
/// by a <see cref="DriftCorrector"/>. One lock covers all of them.</para>
/// <para>The ring holds whole samples only: a write of odd length (a binary message split mid-sample) keeps its last
/// byte back and joins it to the next write's first, so the samples never shift for the rest of the call.</para></summary>
internal sealed class JitterBuffer
{
    /// <inheritdoc cref="DriftCorrector.CorrectionWindowTicks"/>
    public const int CorrectionWindowTicks = DriftCorrector.CorrectionWindowTicks;

    /// <inheritdoc cref="DriftCorrector.MaxGapTicks"/>
    public const int MaxGapTicks = DriftCorrector.MaxGapTicks;

    /// <summary>Frames of room beyond the playout target in the ring's starting size.</summary>
    private const int SteadyStateMarginFrames = 6;

    private readonly object _lock = new();
    private readonly PcmRing _ring;
    private readonly MarkQueue _marks;
    private readonly DriftCorrector _drift;
    private readonly int _primedBytes;
    private readonly int _targetTicks;
    private bool _playing;
    private bool _clearRequested;
    private bool _dataSinceLastTick;
    private int _primingTicks;
    private bool _hasCarry;
    private byte _carry;

    /// <param name="targetMs">Bot audio buffered before playout starts.</param>
    /// <param name="capMs">Most bot audio held; beyond it the oldest goes.</param>
    /// <param name="maxPendingMarks">Marks waiting for their audio, at most (<c>Relay:MaxPendingMarks</c>).</param>
    /// <param name="sampleRate">The bot audio's rate, in Hz: the session's gateway rate (8000 or 16000).</param>
    public JitterBuffer(int targetMs, int capMs, int maxPendingMarks = RelayOptions.DefaultMaxPendingMarks, int sampleRate = 8000)
    {
        if (sampleRate is not (8000 or 16000))
        {
            throw new ArgumentOutOfRangeException(nameof(sampleRate), sampleRate, "the relay plays 8000 or 16000 Hz");
        }

        SampleRate = sampleRate;
        // 320 = 8000 Hz x 20 ms x 2 bytes; 640 at 16 kHz.
        FrameBytes = AudioSocketFormat.FrameBytes(sampleRate);
        // 16-bit mono: rate x 2 bytes per second, rate / 500 per millisecond (16 at 8 kHz, 32 at 16 kHz).
        var bytesPerMs = sampleRate / 500;
        _marks = new MarkQueue(maxPendingMarks);
        // The level at which playout starts: the target, and at least one frame.
        _primedBytes = Math.Max(targetMs * bytesPerMs, FrameBytes);
        // Sized for the steady state: the target plus 120 ms of the bot's chunks arriving together (2,560 bytes at 8 kHz
        // with the 40 ms default). Bursts grow it up to the cap, and it shrinks back once they have played out (most
        // sessions never hold a long one): docs/benchmarks.md, memory per session.
        _ring = new PcmRing(initialBytes: _primedBytes + SteadyStateMarginFrames * FrameBytes, capBytes: Math.Max(FrameBytes * 2, capMs * bytesPerMs));
        _targetTicks = (targetMs + 19) / 20;
        _drift = new DriftCorrector(_primedBytes, FrameBytes);
    }

    /// <summary>The bot audio's sample rate, in Hz.</summary>
    public int SampleRate { get; }

    /// <summary>Bytes in one 20 ms frame at <see cref="SampleRate"/>: 320 = 8000 Hz x 20 ms x 2 bytes, 640 at 16 kHz.</summary>
    public int FrameBytes { get; }

    /// <summary>Times the buffer ran dry while playing.</summary>
    public long Underruns { get; private set; }

    /// <summary>Frames dropped to give back delay a gap or missed ticks added (see <see cref="DriftCorrector"/>).</summary>
    public long TrimmedFrames => _drift.TrimmedFrames;

    /// <inheritdoc cref="DriftCorrector.TrimmedForSkippedTicks"/>
    public long TrimmedForSkippedTicks => _drift.TrimmedForSkippedTicks;

    /// <summary>Ticks of delay inserted and not yet given back.</summary>
    public int DebtTicks
    {
        get
        {
            lock (_lock)
            {
                return _drift.DebtTicks;
            }
        }
    }

    /// <summary>Bytes dropped because the cap was reached (oldest first).</summary>
    public long OverflowBytes => _ring.OverflowBytes;

    /// <summary>Bytes the ring holds before it grows: its small starting size, except during a burst.</summary>
    public int Capacity
    {
        get
        {
            lock (_lock)
            {
                return _ring.Capacity;
            }
        }
    }

    /// <summary>Bytes currently buffered.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _ring.Count;
            }
        }
    }

    /// <summary>Marks not yet due.</summary>
    public int PendingMarks
    {
        get
        {
            lock (_lock)
            {
                return _marks.Count;
            }
        }
    }

    /// <summary>True between a <c>clear</c> and the tick that carries it out.</summary>
    public bool ClearRequested
    {
        get
        {
            lock (_lock)
            {
                return _clearRequested;
            }
        }
    }

    /// <summary>Appends bot audio. Over the cap, the oldest audio goes: a late burst must not grow memory without bound.</summary>
    public void Write(ReadOnlySpan<byte> pcm)
    {
        if (pcm.IsEmpty)
        {
            return;
        }

        lock (_lock)
        {
            if (_hasCarry)
            {
                Span<byte> sample = [_carry, pcm[0]];
                _drift.Written(_ring.Write(sample));
                _hasCarry = false;
                pcm = pcm[1..];
            }

            if ((pcm.Length & 1) != 0)
            {
                _carry = pcm[^1];
                _hasCarry = true;
                pcm = pcm[..^1];
            }

            if (!pcm.IsEmpty)
            {
                _drift.Written(_ring.Write(pcm));
            }

            _dataSinceLastTick = true;
        }
    }

    /// <summary>Barge-in: drop everything queued, at the next tick (so the frame being written is never torn).</summary>
    public void RequestClear()
    {
        lock (_lock)
        {
            _clearRequested = true;
        }
    }

    /// <summary>Ticks that went by without a frame read from this buffer (the clock stalled and skipped them, or the
    /// output was blocked): while playing, the audio they should have played is now late, so it is owed back.</summary>
    public void NoteSkippedTicks(int ticks)
    {
        if (ticks <= 0)
        {
            return;
        }

        lock (_lock)
        {
            _drift.SkippedTicks(ticks, streaming: _playing || _ring.Count > 0);
        }
    }

    /// <summary>Queues a mark at the current end of the stream. Throws <see cref="GatewayViolationException"/>
    /// (<see cref="GatewayViolation.TooManyMarks"/>) when the bound is reached: a mark flood fails its session, it is
    /// not silently dropped (the bot would wait for an echo that never comes).</summary>
    public void AddMark(string name)
    {
        bool added;
        lock (_lock)
        {
            added = _marks.TryAdd(_ring.Written, name);
        }

        if (!added)
        {
            throw new GatewayViolationException(GatewayViolation.TooManyMarks);
        }
    }

    /// <summary>Fills <paramref name="frame"/> (at least <see cref="FrameBytes"/> long; only that much is written) with the
    /// next 20 ms of bot audio, or silence. Returns true when it carries bot audio. Playout starts once the target is
    /// buffered (or the first audio has waited the target's time); a partial frame is played, padded with silence, once
    /// no more audio arrived for a whole tick.</summary>
    public bool ReadFrame(Span<byte> frame)
    {
        frame = frame[..FrameBytes];
        lock (_lock)
        {
            if (_clearRequested)
            {
                _clearRequested = false;
                _ring.Clear();
                // A half sample left by the cleared audio belongs to it: the next utterance starts on a whole one.
                _hasCarry = false;
                _playing = false;
                _primingTicks = 0;
                _drift.Clear();
            }

            var fresh = _dataSinceLastTick;
            _dataSinceLastTick = false;
            if (!_playing && !StartPlayout())
            {
                _drift.SilentTick();
                frame.Clear();
                return false;
            }

            var trim = _drift.PlayingTick(_ring.Count);
            if (trim > 0)
            {
                _ring.Drop(trim * FrameBytes);
            }

            if (_ring.Count >= FrameBytes || (_ring.Count > 0 && !fresh))
            {
                var take = Math.Min(FrameBytes, _ring.Count);
                _ring.Take(frame[..take]);
                frame[take..].Clear();
                _drift.Played(frame);
                return true;
            }

            if (_ring.Count == 0)
            {
                Underruns++;
                _playing = false;
                _drift.RanDry();
            }

            frame.Clear();
            return false;
        }
    }

    /// <summary>The next mark whose audio has all been played (or was cleared), if any.</summary>
    public bool TryTakeDueMark(out string name)
    {
        lock (_lock)
        {
            return _marks.TryTakeDue(_ring.Played, out name);
        }
    }

    /// <summary>Priming: playout starts once the target is buffered, or once the first audio has waited the target's
    /// time. Returns false while it waits (or nothing is buffered).</summary>
    private bool StartPlayout()
    {
        if (_ring.Count == 0)
        {
            return false;
        }

        _primingTicks++;
        if (_ring.Count < _primedBytes && _primingTicks <= _targetTicks)
        {
            return false;
        }

        _playing = true;
        _drift.PlayoutStarted(_primingTicks, _ring.Count);
        _primingTicks = 0;
        return true;
    }
}
