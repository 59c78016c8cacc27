using System.Runtime.InteropServices;

namespace AstraPbx.MediaRelay.Media;

/// <summary>Bot audio waiting for playout: 16-bit PCM at 8 kHz (the gateway's rate in both media modes), re-framed
/// into 20 ms frames of 320 bytes, one per playout tick. Also tracks <c>mark</c>s by stream position, so a mark is
/// due only once the audio queued before it has been played. Thread-safe: the gateway loop writes, the clock reads.
/// <para>Drift correction: a gap in a steady stream (the buffer ran dry because audio came late, or ticks were missed)
/// is played as silence, and the late audio then sits in the buffer, adding the gap's length to every later frame for
/// the rest of the call. The buffer remembers that delay (its <em>debt</em>) and gives it back: once a whole
/// correction window has held at least one frame above the target while audio kept arriving, the oldest excess frames
/// (up to the debt) are dropped. Audio the bot queued ahead on purpose (a TTS burst) is never dropped: only delay the
/// buffer itself inserted is given back, and only while the stream runs at about real time.</para></summary>
internal sealed class JitterBuffer
{
    /// <summary>320 = 8000 Hz x 20 ms x 2 bytes.</summary>
    public const int FrameBytes = 320;

    /// <summary>Ticks over which the buffer level is watched before excess is given back (200 ms).</summary>
    public const int CorrectionWindowTicks = 10;

    /// <summary>A silence longer than this (2 s) after the buffer ran dry adds no debt: whatever the cause, what comes
    /// next is treated as new audio.</summary>
    public const int MaxGapTicks = 100;

    /// <summary>Mean absolute sample value above which a frame is speech, not the quiet end of an utterance (about
    /// -40 dBFS). The buffer running dry right after such a frame means the stream was cut off mid-word (audio came
    /// late): that gap is owed back. Running dry after a quiet frame is the bot pausing between utterances: not owed,
    /// so a next utterance the bot sends ahead of time is never trimmed.</summary>
    public const int SpeechLevel = 320;

    /// <summary>Most delay remembered for giving back (10 s).</summary>
    public const int MaxDebtTicks = 500;

    private readonly object _lock = new();
    private readonly int _capBytes;
    private byte[] _ring;
    private readonly int _targetBytes;
    private readonly int _targetTicks;
    private readonly Queue<(long Position, string Name)> _marks = new();
    private int _head;
    private int _count;
    private long _written;
    private long _played;
    private bool _playing;
    private bool _clearRequested;
    private bool _dataSinceLastTick;
    private int _primingTicks;
    private bool _inGap;
    private int _gapTicks;
    private int _debtTicks;
    private int _windowTicks;
    private int _windowMin;
    private int _windowMax;
    private long _windowWritten;
    private int _windowsWithoutExcess;
    private bool _lastLoud;

    public JitterBuffer(int targetMs, int capMs)
    {
        // Starts at one second and grows up to the cap: most sessions never hold a long burst.
        _capBytes = Math.Max(FrameBytes * 2, capMs * 16);
        _ring = new byte[Math.Min(_capBytes, 16_000)];
        _targetBytes = targetMs * 16;
        _targetTicks = (targetMs + 19) / 20;
    }

    /// <summary>Times the buffer ran dry while playing.</summary>
    public long Underruns { get; private set; }

    /// <summary>Frames dropped to give back delay a gap or missed ticks added (see drift correction above).</summary>
    public long TrimmedFrames { get; private set; }

    /// <summary>Ticks of delay inserted and not yet given back.</summary>
    public int DebtTicks
    {
        get
        {
            lock (_lock)
            {
                return _debtTicks;
            }
        }
    }

    /// <summary>Bytes dropped because the cap was reached (oldest first).</summary>
    public long OverflowBytes { get; private set; }

    /// <summary>Bytes currently buffered.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
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
            if (pcm.Length > _capBytes)
            {
                OverflowBytes += pcm.Length - _capBytes;
                _written += pcm.Length - _capBytes;
                _played += pcm.Length - _capBytes;
                pcm = pcm[^_capBytes..];
            }

            if (_count + pcm.Length > _ring.Length && _ring.Length < _capBytes)
            {
                Grow(Math.Min(_capBytes, Math.Max(_ring.Length * 2, _count + pcm.Length)));
            }

            var overflow = _count + pcm.Length - _ring.Length;
            if (overflow > 0)
            {
                Drop(overflow);
                OverflowBytes += overflow;
            }

            var tail = (_head + _count) % _ring.Length;
            var first = Math.Min(pcm.Length, _ring.Length - tail);
            pcm[..first].CopyTo(_ring.AsSpan(tail));
            pcm[first..].CopyTo(_ring);
            _count += pcm.Length;
            _written += pcm.Length;
            _windowWritten += pcm.Length;
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
            if (_playing || _inGap || _count > 0)
            {
                _debtTicks = Math.Min(MaxDebtTicks, _debtTicks + ticks);
                _windowsWithoutExcess = 0;
            }
        }
    }

    /// <summary>Queues a mark at the current end of the stream.</summary>
    public void AddMark(string name)
    {
        lock (_lock)
        {
            _marks.Enqueue((_written, name));
        }
    }

    /// <summary>Fills <paramref name="frame"/> (320 bytes) with the next 20 ms of bot audio, or silence. Returns true when
    /// it carries bot audio. Playout starts once the target is buffered (or the first audio has waited the target's
    /// time); a partial frame is played, padded with silence, once no more audio arrived for a whole tick.</summary>
    public bool ReadFrame(Span<byte> frame)
    {
        lock (_lock)
        {
            if (_clearRequested)
            {
                _clearRequested = false;
                _played = _written;
                _head = 0;
                _count = 0;
                _playing = false;
                _primingTicks = 0;
                _inGap = false;
                _debtTicks = 0;
            }

            var fresh = _dataSinceLastTick;
            _dataSinceLastTick = false;
            if (!_playing)
            {
                if (_count == 0)
                {
                    CountGapTick();
                    frame.Clear();
                    return false;
                }

                _primingTicks++;
                if (_count < PrimedBytes && _primingTicks <= _targetTicks)
                {
                    CountGapTick();
                    frame.Clear();
                    return false;
                }

                _playing = true;
                if (_inGap)
                {
                    // The stream resumed after a short gap: the silence played meanwhile is now delay on every frame.
                    _debtTicks = Math.Min(MaxDebtTicks, _debtTicks + _gapTicks);
                    _inGap = false;
                    _windowsWithoutExcess = 0;
                }
                else if (_primingTicks > 1 && _count > PrimedBytes)
                {
                    // Audio started, then stalled short of the target, then arrived together: the ticks waited
                    // beyond the first are late audio too (audio sent ahead on purpose arrives at once: one tick).
                    _debtTicks = Math.Min(MaxDebtTicks, _debtTicks + _primingTicks - 1);
                    _windowsWithoutExcess = 0;
                }

                _primingTicks = 0;

                StartWindow();
            }

            CorrectDrift();
            if (_count >= FrameBytes || (_count > 0 && !fresh))
            {
                var take = Math.Min(FrameBytes, _count);
                Take(frame[..take]);
                frame[take..].Clear();
                _lastLoud = IsSpeech(frame);
                return true;
            }

            if (_count == 0)
            {
                Underruns++;
                _playing = false;
                _inGap = _lastLoud;
                _gapTicks = 1;
            }

            frame.Clear();
            return false;
        }
    }

    /// <summary>The level at which playout starts: the target, and at least one frame.</summary>
    private int PrimedBytes => Math.Max(_targetBytes, FrameBytes);

    private static bool IsSpeech(ReadOnlySpan<byte> frame)
    {
        var samples = MemoryMarshal.Cast<byte, short>(frame);
        long sum = 0;
        foreach (var sample in samples)
        {
            sum += Math.Abs((int)sample);
        }

        return sum > (long)SpeechLevel * samples.Length;
    }

    private void CountGapTick()
    {
        if (_inGap && ++_gapTicks > MaxGapTicks)
        {
            // A pause between utterances: nothing played late because of it.
            _inGap = false;
            _debtTicks = 0;
        }
    }

    private void StartWindow()
    {
        _windowTicks = 0;
        _windowMin = int.MaxValue;
        _windowMax = 0;
        _windowWritten = 0;
    }

    /// <summary>At the end of each window of steady playout: drop the excess over the target the debt accounts for.</summary>
    private void CorrectDrift()
    {
        _windowMin = Math.Min(_windowMin, _count);
        _windowMax = Math.Max(_windowMax, _count);
        if (++_windowTicks < CorrectionWindowTicks)
        {
            return;
        }

        var excessFrames = (_windowMin - PrimedBytes) / FrameBytes;
        // About one frame arrived per tick (within 30%): a stream running at real time, not a burst queued ahead
        // (nothing arrives while it drains) nor audio coming faster than real time.
        var steady = Math.Abs(_windowWritten - (long)CorrectionWindowTicks * FrameBytes) <= CorrectionWindowTicks * FrameBytes * 3 / 10;
        if (_debtTicks > 0 && excessFrames > 0 && steady)
        {
            var trim = Math.Min(_debtTicks, excessFrames);
            Drop(trim * FrameBytes);
            TrimmedFrames += trim;
            _debtTicks -= trim;
        }
        else if (_windowMax <= PrimedBytes && ++_windowsWithoutExcess >= 2)
        {
            // Never above the target for two whole windows: the late audio is not coming (or was absorbed), so
            // nothing is owed any more.
            _debtTicks = 0;
        }

        if (_windowMax > PrimedBytes)
        {
            _windowsWithoutExcess = 0;
        }

        StartWindow();
    }

    /// <summary>The next mark whose audio has all been played (or was cleared), if any.</summary>
    public bool TryTakeDueMark(out string name)
    {
        lock (_lock)
        {
            if (_marks.Count > 0 && _marks.Peek().Position <= _played)
            {
                name = _marks.Dequeue().Name;
                return true;
            }

            name = "";
            return false;
        }
    }

    private void Grow(int size)
    {
        var bigger = new byte[size];
        var first = Math.Min(_count, _ring.Length - _head);
        _ring.AsSpan(_head, first).CopyTo(bigger);
        _ring.AsSpan(0, _count - first).CopyTo(bigger.AsSpan(first));
        _ring = bigger;
        _head = 0;
    }

    private void Take(Span<byte> destination)
    {
        var first = Math.Min(destination.Length, _ring.Length - _head);
        _ring.AsSpan(_head, first).CopyTo(destination);
        _ring.AsSpan(0, destination.Length - first).CopyTo(destination[first..]);
        Drop(destination.Length);
    }

    private void Drop(int bytes)
    {
        _head = (_head + bytes) % _ring.Length;
        _count -= bytes;
        _played += bytes;
    }
}
