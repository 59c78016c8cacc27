using System.Numerics;
using System.Runtime.InteropServices;

namespace AstraPbx.MediaRelay.Media;

/// <summary>The jitter buffer's drift correction: a gap in a steady stream (the buffer ran dry because audio came late,
/// or ticks were missed) is played as silence, and the late audio then sits in the buffer, adding the gap's length to
/// every later frame for the rest of the call. The corrector remembers that delay (its <em>debt</em>) and gives it
/// back: once a whole correction window has held at least one frame above the target while audio kept arriving, the
/// oldest excess frames (up to the debt beyond <see cref="KeptTicks"/>) are dropped. Audio the bot queued ahead on
/// purpose (a TTS burst) is never dropped: only delay the buffer itself inserted is given back, and only while the
/// stream runs at about real time.
/// <para>It only decides: <see cref="JitterBuffer"/> tells it what happened on each tick and drops what it says. Not
/// thread-safe: the buffer holds the lock.</para></summary>
/// <param name="primedBytes">The buffer level at which playout starts (the target).</param>
/// <param name="frameBytes">Bytes per 20 ms frame at the buffer's rate (320 at 8 kHz, 640 at 16 kHz).</param>
internal sealed class DriftCorrector(int primedBytes, int frameBytes)
{
    /// <summary>Ticks over which the buffer level is watched before excess is given back (200 ms).</summary>
    public const int CorrectionWindowTicks = 10;

    /// <summary>A silence longer than this (2 s) after the buffer ran dry adds no debt: whatever the cause, what comes
    /// next is treated as new audio.</summary>
    public const int MaxGapTicks = 100;

    /// <summary>Mean absolute sample value above which a frame is speech, not the quiet end of an utterance (about
    /// -40 dBFS). The buffer running dry right after such a frame means the stream was cut off mid-word (audio came
    /// late): that gap is owed back. Running dry after a quiet frame is the bot pausing between utterances: not owed,
    /// so a next utterance the bot sends ahead of time is never trimmed. A mean per sample: the same at any rate.</summary>
    public const int SpeechLevel = 320;

    /// <summary><see cref="IsSpeech"/>'s vector steps between emptying its int lanes into a long.</summary>
    private const int StepsPerFlush = 1024;

    /// <summary>Delay kept rather than given back (one frame, 20 ms): audio that came one frame too late once is likely
    /// to again (the path's jitter is wider than the target), so that frame of delay stays as headroom instead of
    /// cutting a frame of speech now and running dry again later, a gap and a cut each time. It still leaves with the
    /// rest of the buffer when the bot pauses. A stream that keeps coming late gives back everything beyond it.</summary>
    public const int KeptTicks = 1;

    /// <summary>Most delay remembered for giving back (10 s).</summary>
    public const int MaxDebtTicks = 500;

    /// <summary>Ticks a stream at real time (one frame a tick) takes to reach the target: 2 at the 40 ms default.</summary>
    private readonly int _onTimePrimingTicks = Math.Max(1, (primedBytes + frameBytes - 1) / frameBytes);

    private bool _inGap;
    private int _gapTicks;
    private int _windowTicks;
    private int _windowMin;
    private int _windowMax;
    private long _windowWritten;
    private int _windowsWithoutExcess;
    private bool _lastLoud;
    private int _skippedDebt;

    /// <summary>Ticks of delay inserted and not yet given back.</summary>
    public int DebtTicks { get; private set; }

    /// <summary>Frames given back (dropped) so far.</summary>
    public long TrimmedFrames { get; private set; }

    /// <summary>Of <see cref="TrimmedFrames"/>, those that gave back ticks the relay skipped (its clock stalled, or the
    /// caller's socket was full), not a gap left by bot audio that came late. A trim is counted against skipped ticks
    /// first, so this is the most the relay's own stalls can account for: at zero, every frame trimmed was owed to the
    /// bot's (or its network's) lateness.</summary>
    public long TrimmedForSkippedTicks { get; private set; }

    /// <summary>Bytes of audio arrived.</summary>
    public void Written(int bytes) => _windowWritten += bytes;

    /// <summary>The buffer was cleared (barge-in): nothing is owed any more.</summary>
    public void Clear()
    {
        _inGap = false;
        ForgetDebt();
    }

    /// <summary>Ticks skipped (the clock stalled, or the output was blocked): while the stream is on (playing, buffered,
    /// or in a gap), the audio they should have played is now late, so it is owed back.</summary>
    public void SkippedTicks(int ticks, bool streaming)
    {
        if (streaming || _inGap)
        {
            Owe(ticks);
            _skippedDebt = Math.Min(DebtTicks, _skippedDebt + ticks);
        }
    }

    /// <summary>A tick played silence while not playing (empty, or priming).</summary>
    public void SilentTick()
    {
        if (_inGap && ++_gapTicks > MaxGapTicks)
        {
            // A pause between utterances: nothing played late because of it.
            _inGap = false;
            ForgetDebt();
        }
    }

    /// <summary>Playout (re)starts after <paramref name="primingTicks"/> ticks of priming, with
    /// <paramref name="buffered"/> bytes buffered.</summary>
    public void PlayoutStarted(int primingTicks, int buffered)
    {
        if (_inGap)
        {
            // The stream resumed after a short gap: the silence played meanwhile is now delay on every frame.
            Owe(_gapTicks);
            _inGap = false;
        }
        else if (primingTicks > _onTimePrimingTicks && buffered > primedBytes)
        {
            // Audio started, then stalled short of the target, then arrived together: the ticks waited beyond those a
            // stream at real time takes to reach the target (one frame a tick) are late audio too. Audio sent ahead on
            // purpose arrives at once (one tick) and owes nothing; nor does a stream that primed on time, in
            // target-many ticks.
            Owe(primingTicks - _onTimePrimingTicks);
        }

        StartWindow();
    }

    /// <summary>A tick while playing, with <paramref name="buffered"/> bytes buffered. At the end of each window of
    /// steady playout: returns how many of the oldest frames to drop (the excess over the target the debt accounts
    /// for), else 0.</summary>
    public int PlayingTick(int buffered)
    {
        _windowMin = Math.Min(_windowMin, buffered);
        _windowMax = Math.Max(_windowMax, buffered);
        if (++_windowTicks < CorrectionWindowTicks)
        {
            return 0;
        }

        var trim = 0;
        var excessFrames = (_windowMin - primedBytes) / frameBytes;
        // About one frame arrived per tick (within 30%): a stream running at real time, not a burst queued ahead
        // (nothing arrives while it drains) nor audio coming faster than real time.
        var steady = Math.Abs(_windowWritten - (long)CorrectionWindowTicks * frameBytes) <= CorrectionWindowTicks * frameBytes * 3 / 10;
        if (DebtTicks > KeptTicks && excessFrames > 0 && steady)
        {
            trim = Math.Min(DebtTicks - KeptTicks, excessFrames);
            TrimmedFrames += trim;
            DebtTicks -= trim;
            var forSkipped = Math.Min(trim, _skippedDebt);
            _skippedDebt -= forSkipped;
            TrimmedForSkippedTicks += forSkipped;
        }
        else if (_windowMax <= primedBytes && ++_windowsWithoutExcess >= 2)
        {
            // Never above the target for two whole windows: the late audio is not coming (or was absorbed), so
            // nothing is owed any more.
            ForgetDebt();
        }

        if (_windowMax > primedBytes)
        {
            _windowsWithoutExcess = 0;
        }

        StartWindow();
        return trim;
    }

    /// <summary>A frame of bot audio was played.</summary>
    public void Played(ReadOnlySpan<byte> frame) => _lastLoud = IsSpeech(frame);

    /// <summary>The buffer ran dry while playing: if it was cut off mid-word, the gap that starts now is owed.</summary>
    public void RanDry()
    {
        _inGap = _lastLoud;
        _gapTicks = 1;
    }

    private void Owe(int ticks)
    {
        DebtTicks = Math.Min(MaxDebtTicks, DebtTicks + ticks);
        _windowsWithoutExcess = 0;
    }

    private void ForgetDebt()
    {
        DebtTicks = 0;
        _skippedDebt = 0;
    }

    private void StartWindow()
    {
        _windowTicks = 0;
        _windowMin = int.MaxValue;
        _windowMax = 0;
        _windowWritten = 0;
    }

    /// <summary>Whether the frame's mean absolute sample is above <see cref="SpeechLevel"/>; on every played frame of every
    /// session, so vectorised (each int lane gathers at most 65,536 a step, and is emptied into the total every
    /// <see cref="StepsPerFlush"/> steps, long before even 16 lanes' sum could overflow an int).</summary>
    internal static bool IsSpeech(ReadOnlySpan<byte> frame)
    {
        var samples = MemoryMarshal.Cast<byte, short>(frame);
        long sum = 0;
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var lanes = Vector<int>.Zero;
            for (var steps = 0; i <= samples.Length - Vector<short>.Count; i += Vector<short>.Count)
            {
                Vector.Widen(new Vector<short>(samples[i..]), out var low, out var high);
                lanes += Vector.Abs(low) + Vector.Abs(high);
                if (++steps == StepsPerFlush)
                {
                    sum += Vector.Sum(lanes);
                    lanes = Vector<int>.Zero;
                    steps = 0;
                }
            }

            sum += Vector.Sum(lanes);
        }

        for (; i < samples.Length; i++)
        {
            sum += Math.Abs((int)samples[i]);
        }

        return sum > (long)SpeechLevel * samples.Length;
    }
}
