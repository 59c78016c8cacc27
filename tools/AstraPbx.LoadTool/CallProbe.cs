using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using AstraPbx.Audio.AudioSocket;
using AstraPbx.Simulators.AudioSocket;

namespace AstraPbx.LoadTool;

/// <summary>One simulated call's audio and measurements. Every frame the caller sends is stamped in its PCM with a
/// magic, its sequence number and its send time (Stopwatch ticks); the echo gateway returns the PCM unchanged (binary
/// mode, 8 kHz both sides: no resampling, no mu-law), so each frame coming back says which frame it is and when it
/// left. Frames without the stamp are the relay's silence fill.</summary>
internal sealed class CallProbe(LoadWindow window, LoadStats stats, int maxFrames) : IAudioSource
{
    private const uint Magic = 0x52545341; // "ASTR"
    private const int StampBytes = 20;

    /// <summary>The stamp and, after it, when the echo bot got the frame (<see cref="StampBotReceipt"/>).</summary>
    private const int EchoStampBytes = StampBytes + 8;

    private readonly System.Collections.BitArray _seen = new(maxFrames);
    private readonly float[] _uplinkMs = new float[maxFrames];
    private readonly float[] _roundTripMs = new float[maxFrames];
    private readonly List<float> _rttMs = new(maxFrames);
    private long _lastArrival;

    public long EchoFrames { get; private set; }

    public long SilenceFrames { get; private set; }

    public long DistinctEchoes { get; private set; }

    public long Duplicates { get; private set; }

    public long OutOfOrder { get; private set; }

    /// <summary>The lowest sequence number that came back (so this many frames were sent before it, none of which
    /// did); -1 before any.</summary>
    public long FirstEchoedFrame { get; private set; } = -1;

    /// <summary>Round trips (ms) of the frames that came back inside the measurement window.</summary>
    public IReadOnlyList<float> RoundTrips => _rttMs;

    private long _highestSeq = -1;

    /// <summary>The round trip of the first frame that came back (ms; frames come back in order).</summary>
    public double FirstEchoRoundTripMs => FirstEchoedFrame < 0 ? 0 : _roundTripMs[FirstEchoedFrame];

    /// <summary>When the call's first frame was sent (<see cref="Stopwatch"/> time stamp).</summary>
    public long FirstSent { get; private set; }

    /// <summary>A 400 Hz tone at about -12 dBFS (exactly 8 periods per frame): callers talk, they do not send silence,
    /// and the relay's jitter buffer tells speech from the quiet end of an utterance.</summary>
    private static readonly byte[] Tone = MakeTone();

    public void Fill(Span<byte> frame, long index)
    {
        var now = Stopwatch.GetTimestamp();
        if (index == 0)
        {
            FirstSent = now;
        }

        Tone.AsSpan(0, frame.Length).CopyTo(frame);
        BinaryPrimitives.WriteUInt32LittleEndian(frame, Magic);
        BinaryPrimitives.WriteInt64LittleEndian(frame[4..], index);
        BinaryPrimitives.WriteInt64LittleEndian(frame[12..], now);
        if (window.Contains(now))
        {
            _firstWindowFrame = _firstWindowFrame < 0 ? index : _firstWindowFrame;
            _lastWindowFrame = index;
        }
    }

    private long _firstWindowFrame = -1;
    private long _lastWindowFrame = -1;

    /// <summary>The frames sent before the last one that came back and that never did, each with about when it was
    /// sent (the first frame's send time plus 20 ms a frame; the pacer keeps to it), at most
    /// <paramref name="max"/>: where in the run a loss happened (the ramp, a warm-up, the window).</summary>
    public IEnumerable<(long Seq, long SentAt)> LostFrames(int max)
    {
        var found = 0;
        for (var seq = 0; seq < Math.Min(_highestSeq, _seen.Length) && found < max; seq++)
        {
            if (!_seen[seq] && seq > FirstEchoedFrame)
            {
                found++;
                yield return (seq, FirstSent + seq * Stopwatch.Frequency / 50);
            }
        }
    }

    /// <summary>The echo bot, just before echoing a frame: stamps in it when it got it, so each frame coming back says
    /// how long it took to reach the bot (the relay's uplink) as well as its round trip.</summary>
    public static void StampBotReceipt(Span<byte> message, object? state)
    {
        if (message.Length >= EchoStampBytes && BinaryPrimitives.ReadUInt32LittleEndian(message) == Magic)
        {
            BinaryPrimitives.WriteInt64LittleEndian(message[StampBytes..], Stopwatch.GetTimestamp());
        }
    }

    /// <summary>Frames <paramref name="seq"/>-4 to <paramref name="seq"/>+2 as "uplink/round trip" in ms ("-" for one
    /// that never came back): whether a loss followed a late uplink (the relay forwarding the caller late), or a
    /// late echo or downlink.</summary>
    public string Around(long seq)
    {
        var parts = new List<string>();
        for (var i = Math.Max(0, seq - 4); i <= Math.Min(seq + 2, _seen.Length - 1); i++)
        {
            parts.Add(_seen[(int)i]
                ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{_uplinkMs[i]:0}/{_roundTripMs[i]:0}")
                : "-");
        }

        return string.Join(' ', parts);
    }

    /// <summary>Frames sent inside the measurement window that never came back (the rest of a call's lost frames were
    /// sent during the ramp or the warm-up).</summary>
    public long LostInWindow()
    {
        var lost = 0L;
        for (var seq = Math.Max(0, _firstWindowFrame); seq <= Math.Min(_lastWindowFrame, _seen.Length - 1); seq++)
        {
            lost += _seen[(int)seq] ? 0 : 1;
        }

        return lost;
    }

    private static byte[] MakeTone()
    {
        var tone = new byte[320];
        for (var i = 0; i < 160; i++)
        {
            BinaryPrimitives.WriteInt16LittleEndian(tone.AsSpan(i * 2), (short)(8000 * Math.Sin(2 * Math.PI * 400 * i / 8000.0)));
        }

        return tone;
    }

    /// <summary>Runs on the caller's receive loop: no allocation, no lock beyond the shared histograms.</summary>
    public void OnFrame(AudioSocketKind kind, ReadOnlySequence<byte> payload, long timestamp)
    {
        if (!AudioSocketFormat.IsAudio(kind))
        {
            return;
        }

        var inWindow = window.Contains(timestamp);
        if (_lastArrival != 0 && inWindow)
        {
            stats.Spacing.Record(Stopwatch.GetElapsedTime(_lastArrival, timestamp).TotalMilliseconds);
        }

        _lastArrival = timestamp;
        Span<byte> stamp = stackalloc byte[EchoStampBytes];
        if (payload.Length < EchoStampBytes)
        {
            SilenceFrames++;
            return;
        }

        payload.Slice(0, EchoStampBytes).CopyTo(stamp);
        if (BinaryPrimitives.ReadUInt32LittleEndian(stamp) != Magic)
        {
            SilenceFrames++;
            return;
        }

        EchoFrames++;
        var seq = BinaryPrimitives.ReadInt64LittleEndian(stamp[4..]);
        var sentAt = BinaryPrimitives.ReadInt64LittleEndian(stamp[12..]);
        if (seq < 0 || seq >= _seen.Length)
        {
            return;
        }

        if (_seen[(int)seq])
        {
            Duplicates++;
            return;
        }

        _seen[(int)seq] = true;
        var botAt = BinaryPrimitives.ReadInt64LittleEndian(stamp[StampBytes..]);
        _uplinkMs[seq] = (float)Stopwatch.GetElapsedTime(sentAt, botAt).TotalMilliseconds;
        _roundTripMs[seq] = (float)Stopwatch.GetElapsedTime(sentAt, timestamp).TotalMilliseconds;
        DistinctEchoes++;
        if (FirstEchoedFrame < 0 || seq < FirstEchoedFrame)
        {
            FirstEchoedFrame = seq;
        }
        if (seq < _highestSeq)
        {
            OutOfOrder++;
        }

        _highestSeq = Math.Max(_highestSeq, seq);
        if (inWindow)
        {
            var rtt = Stopwatch.GetElapsedTime(sentAt, timestamp).TotalMilliseconds;
            _rttMs.Add((float)rtt);
            stats.RoundTrip.Record(rtt);
        }
    }
}
