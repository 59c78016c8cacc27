using System.Runtime.InteropServices;
using AstraPbx.MediaRelay.Media;
using Xunit;

namespace AstraPbx.MediaRelay.Tests.Units;

/// <summary>The jitter buffer gives back the delay a gap in a steady stream (or skipped ticks) added beyond one frame
/// it keeps as headroom, and only that: audio a bot queued ahead on purpose is always played whole. Every case runs at 8 kHz (320-byte frames) and at 16 kHz
/// (640-byte frames, a wideband binary-mode session): the corrector counts frames, not bytes.</summary>
public sealed class DriftCorrectionTests
{
    [Fact]
    public void Speech_detection_agrees_with_a_sample_by_sample_mean_at_every_length_and_at_the_level_itself()
    {
        var random = new Random(13);
        var frames = new List<short[]>
        {
            Enumerable.Repeat(short.MinValue, 160).ToArray(),
            Enumerable.Repeat(short.MaxValue, 5000).ToArray(),
            // Long enough that the vector lanes are emptied on the way: one int could not hold the sum (3.3e9).
            Enumerable.Repeat(short.MinValue, 100_000).ToArray(),
            // Exactly at the level is not speech; one more is.
            Enumerable.Repeat((short)DriftCorrector.SpeechLevel, 160).ToArray(),
            Enumerable.Repeat((short)-DriftCorrector.SpeechLevel, 159).Append((short)(DriftCorrector.SpeechLevel + 1)).ToArray(),
        };
        for (var length = 0; length <= 700; length += 7)
        {
            var level = random.Next(0, 4 * DriftCorrector.SpeechLevel);
            frames.Add(Enumerable.Range(0, length).Select(_ => (short)random.Next(-level, level + 1)).ToArray());
        }

        foreach (var samples in frames)
        {
            var expected = samples.Sum(s => (long)Math.Abs((int)s)) > (long)DriftCorrector.SpeechLevel * samples.Length;
            var bytes = MemoryMarshal.AsBytes(samples.AsSpan());
            Assert.True(expected == DriftCorrector.IsSpeech(bytes), $"{samples.Length} samples, mean {samples.Select(s => Math.Abs((int)s)).DefaultIfEmpty().Average():0.0}");
        }

        Assert.Contains(frames, f => DriftCorrector.IsSpeech(MemoryMarshal.AsBytes(f.AsSpan())));
        Assert.Contains(frames, f => f.Length > 0 && !DriftCorrector.IsSpeech(MemoryMarshal.AsBytes(f.AsSpan())));
    }

    [Theory]
    [InlineData(8000)]
    [InlineData(16000)]
    public void A_gap_in_a_steady_stream_adds_delay_that_is_given_back_but_one_frame(int rate)
    {
        var stream = new BotStream(new JitterBuffer(targetMs: 40, capMs: 10_000, sampleRate: rate));
        stream.Steady(50);
        var lagBefore = stream.Lag;

        // The bot's audio is held up for 6 ticks (the buffer runs dry and plays silence), then arrives all at once.
        stream.Silent(6);
        stream.Send(6);
        stream.Steady(1);
        Assert.Equal(lagBefore + 5, stream.Lag);
        Assert.True(stream.Jitter.DebtTicks > 0);

        stream.Steady(JitterBuffer.CorrectionWindowTicks * 3);

        Assert.Equal(lagBefore + DriftCorrector.KeptTicks, stream.Lag);
        Assert.Equal(5 - DriftCorrector.KeptTicks, stream.Jitter.TrimmedFrames);
        Assert.Equal(0, stream.Jitter.TrimmedForSkippedTicks);
        Assert.Equal(DriftCorrector.KeptTicks, stream.Jitter.DebtTicks);
        stream.AssertPlayedInOrderMissing(stream.Jitter.TrimmedFrames);
    }

    [Theory]
    [InlineData(8000)]
    [InlineData(16000)]
    public void One_late_frame_is_kept_as_headroom_and_a_second_is_given_back(int rate)
    {
        var stream = new BotStream(new JitterBuffer(targetMs: 40, capMs: 10_000, sampleRate: rate));
        stream.Steady(50);
        var lagBefore = stream.Lag;

        // Mid-word, the bot's audio comes late enough that one tick plays silence, then arrives together.
        var silent = stream.Played.Count(seq => seq == 0);
        stream.Silent(2);
        stream.Send(2);
        stream.Steady(JitterBuffer.CorrectionWindowTicks * 3);
        Assert.Equal(silent + 1, stream.Played.Count(seq => seq == 0));

        Assert.Equal(0, stream.Jitter.TrimmedFrames);
        Assert.Equal(lagBefore + 1, stream.Lag);

        // The headroom absorbs the same lateness next time: no tick plays silence, nothing is cut.
        silent = stream.Played.Count(seq => seq == 0);
        stream.Silent(2);
        stream.Send(2);
        stream.Steady(JitterBuffer.CorrectionWindowTicks * 3);
        Assert.Equal(silent, stream.Played.Count(seq => seq == 0));
        Assert.Equal(0, stream.Jitter.TrimmedFrames);

        // Later by more than the headroom: that much more is owed, and given back down to the one frame kept.
        stream.Silent(5);
        stream.Send(5);
        stream.Steady(JitterBuffer.CorrectionWindowTicks * 3);

        Assert.Equal(lagBefore + DriftCorrector.KeptTicks, stream.Lag);
        Assert.True(stream.Jitter.TrimmedFrames > 0);
        stream.AssertPlayedInOrderMissing(stream.Jitter.TrimmedFrames);
    }

    [Theory]
    [InlineData(8000)]
    [InlineData(16000)]
    public void Ticks_skipped_while_playing_are_given_back_but_one(int rate)
    {
        var stream = new BotStream(new JitterBuffer(targetMs: 40, capMs: 10_000, sampleRate: rate));
        stream.Steady(50);
        var lagBefore = stream.Lag;

        // The clock stalled 4 ticks; the bot's audio kept arriving meanwhile.
        stream.Send(4);
        stream.Jitter.NoteSkippedTicks(4);
        stream.Steady(JitterBuffer.CorrectionWindowTicks * 3);

        Assert.Equal(lagBefore + DriftCorrector.KeptTicks, stream.Lag);
        Assert.Equal(4 - DriftCorrector.KeptTicks, stream.Jitter.TrimmedFrames);
        Assert.Equal(4 - DriftCorrector.KeptTicks, stream.Jitter.TrimmedForSkippedTicks);
        stream.AssertPlayedInOrderMissing(4 - DriftCorrector.KeptTicks);
    }

    [Theory]
    [InlineData(8000)]
    [InlineData(16000)]
    public void Trims_say_whether_they_gave_back_skipped_ticks_or_late_audio_and_charge_skipped_ticks_first(int rate)
    {
        var stream = new BotStream(new JitterBuffer(targetMs: 40, capMs: 10_000, sampleRate: rate));
        stream.Steady(50);

        // The relay's clock skips 3 ticks while the bot's audio keeps arriving: 2 trimmed, both for skipped ticks, and
        // the frame kept is a skipped tick too.
        SkippedTicks(3);
        AssertTrimmed(total: 2, forSkippedTicks: 2);

        // Then the bot's audio comes late mid-word (2 silent ticks owed): 2 more trimmed, the first charged to the
        // skipped tick still owed, the second to the late audio.
        LateMidWord();
        AssertTrimmed(total: 4, forSkippedTicks: 3);

        // A pause forgets both kinds of debt: a stall in one utterance is not charged to late audio in the next.
        Pause();
        SkippedTicks(2);
        AssertTrimmed(total: 5, forSkippedTicks: 4);
        Pause();
        LateMidWord();
        AssertTrimmed(total: 7, forSkippedTicks: 4);
        stream.AssertPlayedInOrderMissing(stream.Jitter.TrimmedFrames);

        void SkippedTicks(int ticks)
        {
            stream.Send(ticks);
            stream.Jitter.NoteSkippedTicks(ticks);
            stream.Steady(JitterBuffer.CorrectionWindowTicks * 3);
        }

        void LateMidWord()
        {
            stream.Silent(4);
            stream.Send(4);
            stream.Steady(JitterBuffer.CorrectionWindowTicks * 4 + 1);
        }

        void Pause()
        {
            stream.Silent(JitterBuffer.MaxGapTicks + 10);
            stream.Steady(50);
        }

        void AssertTrimmed(long total, long forSkippedTicks)
        {
            Assert.Equal(total, stream.Jitter.TrimmedFrames);
            Assert.Equal(forSkippedTicks, stream.Jitter.TrimmedForSkippedTicks);
        }
    }

    [Theory]
    [InlineData(8000)]
    [InlineData(16000)]
    public void A_burst_after_a_gap_is_played_whole(int rate)
    {
        var stream = new BotStream(new JitterBuffer(targetMs: 40, capMs: 10_000, sampleRate: rate));
        stream.Steady(50);
        stream.Silent(4);

        // A 5 s TTS burst: queued ahead on purpose, nothing arrives after it.
        stream.Send(250);
        stream.Silent(260);

        Assert.Equal(0, stream.Jitter.TrimmedFrames);
        stream.AssertPlayedInOrderMissing(0);
        Assert.Equal(50 + 250, stream.Played.Count(seq => seq != 0));
    }

    [Theory]
    [InlineData(8000)]
    [InlineData(16000)]
    public void A_pause_between_utterances_adds_no_debt(int rate)
    {
        var stream = new BotStream(new JitterBuffer(targetMs: 40, capMs: 10_000, sampleRate: rate));
        stream.Steady(50);

        // The utterance ends quietly, the bot says nothing for 20 ticks (400 ms), then streams its next utterance
        // 200 ms ahead, in real time.
        stream.Send(3, quiet: true);
        stream.Silent(23);
        stream.Send(10);
        stream.Steady(100);
        stream.Silent(20);

        Assert.Equal(0, stream.Jitter.TrimmedFrames);
        stream.AssertPlayedInOrderMissing(0);
    }

    [Theory]
    [InlineData(8000)]
    [InlineData(16000)]
    public void A_stream_cut_off_mid_word_for_longer_than_a_pause_adds_no_debt(int rate)
    {
        var stream = new BotStream(new JitterBuffer(targetMs: 40, capMs: 10_000, sampleRate: rate));
        stream.Steady(50);
        stream.Silent(JitterBuffer.MaxGapTicks + 5);
        stream.Send(10);
        stream.Steady(50);

        Assert.Equal(0, stream.Jitter.TrimmedFrames);
        stream.AssertPlayedInOrderMissing(0);
    }

    [Theory]
    [InlineData(8000)]
    [InlineData(16000)]
    public void Audio_whose_second_frame_comes_a_tick_late_keeps_that_tick_as_headroom_and_loses_nothing(int rate)
    {
        var stream = new BotStream(new JitterBuffer(targetMs: 40, capMs: 10_000, sampleRate: rate));

        // A stream at real time whose second frame misses its tick (the bot, or the machine, held up for a moment at the
        // start of an utterance): playout starts a tick later than the target's two, with one frame more than the
        // target. That tick of delay is kept as headroom, as a one-tick gap mid-stream is, not cut from the speech.
        stream.Send(1);
        stream.Silent(2);
        Assert.All(stream.Played, seq => Assert.Equal(0, seq));
        stream.Send(1);
        stream.Steady(JitterBuffer.CorrectionWindowTicks * 3);

        Assert.Equal(0, stream.Jitter.TrimmedFrames);
        Assert.Equal(DriftCorrector.KeptTicks, stream.Jitter.DebtTicks);
        stream.AssertPlayedInOrderMissing(0);

        // Later by more than that headroom mid-stream: owed on top of the tick kept, and given back down to it.
        var lag = stream.Lag;
        stream.Silent(4);
        stream.Send(4);
        stream.Steady(JitterBuffer.CorrectionWindowTicks * 3);

        Assert.Equal(lag, stream.Lag);
        Assert.True(stream.Jitter.TrimmedFrames > 0);
        stream.AssertPlayedInOrderMissing(stream.Jitter.TrimmedFrames);
    }

    [Theory]
    [InlineData(8000)]
    [InlineData(16000)]
    public void Audio_sent_ahead_at_the_start_is_played_whole(int rate)
    {
        var stream = new BotStream(new JitterBuffer(targetMs: 40, capMs: 10_000, sampleRate: rate));
        stream.Send(10);
        stream.Steady(100);
        stream.Silent(20);

        Assert.Equal(0, stream.Jitter.TrimmedFrames);
        stream.AssertPlayedInOrderMissing(0);
    }

    [Theory]
    [InlineData(8000)]
    [InlineData(16000)]
    public void Clear_forgets_the_debt(int rate)
    {
        var stream = new BotStream(new JitterBuffer(targetMs: 40, capMs: 10_000, sampleRate: rate));
        stream.Steady(50);
        stream.Silent(6);
        stream.Send(6);
        stream.Steady(1);
        Assert.True(stream.Jitter.DebtTicks > 0);

        stream.Jitter.RequestClear();
        stream.Silent(1);

        Assert.Equal(0, stream.Jitter.DebtTicks);
    }

    /// <summary>A bot stream of numbered frames and the clock reading it, one frame per tick.</summary>
    private sealed class BotStream(JitterBuffer jitter)
    {
        private readonly byte[] _frame = new byte[jitter.FrameBytes];
        private int _sent;

        public JitterBuffer Jitter => jitter;

        /// <summary>Sequence number of each tick's frame, 0 for silence.</summary>
        public List<int> Played { get; } = [];

        /// <summary>Frames between the last one sent and the last one played.</summary>
        public int Lag => _sent - Played.Last(seq => seq != 0);

        /// <summary>Numbered frames of speech, or of the quiet tail of an utterance.</summary>
        public void Send(int frames, bool quiet = false)
        {
            for (var i = 0; i < frames; i++)
            {
                _sent++;
                var pcm = new byte[jitter.FrameBytes];
                Array.Fill(pcm, quiet ? (byte)0x01 : (byte)0x55);
                BitConverter.TryWriteBytes(pcm, _sent);
                jitter.Write(pcm);
            }
        }

        /// <summary>One frame arrives before each tick.</summary>
        public void Steady(int ticks)
        {
            for (var i = 0; i < ticks; i++)
            {
                Send(1);
                Tick();
            }
        }

        /// <summary>Ticks with nothing arriving.</summary>
        public void Silent(int ticks)
        {
            for (var i = 0; i < ticks; i++)
            {
                Tick();
            }
        }

        /// <summary>Every frame played went out in order, once, and exactly <paramref name="missing"/> never did.</summary>
        public void AssertPlayedInOrderMissing(long missing)
        {
            var audio = Played.Where(seq => seq != 0).ToList();
            Assert.Equal(audio.Order(), audio);
            Assert.Equal(audio.Count, audio.Distinct().Count());
            var last = audio[^1];
            Assert.Equal(missing, last - audio.Count);
        }

        private void Tick() => Played.Add(jitter.ReadFrame(_frame) ? BitConverter.ToInt32(_frame) : 0);
    }
}
