using System.Text;
using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay.Gateway;
using AstraPbx.MediaRelay.Media;
using CsCheck;
using Xunit;

namespace AstraPbx.MediaRelay.Tests.Units;

/// <summary>Issue 12 item 4: everything a bot controls is bounded. Over a bound the codec or the jitter buffer throws
/// <see cref="GatewayViolationException"/> (which the gateway leg's receive loop turns into a failed session) with the
/// specific violation; within it, the messages decode as before. Odd-length bot PCM arrives bit-exact.</summary>
public sealed class GatewayBoundsTests
{
    private static readonly GatewayLimits Limits = new(MaxTextMessageBytes: 4096, MaxJsonDepth: 16, MaxMarkNameBytes: 256);

    private static GatewayMediaCodec Codec(MediaMode mode, GatewayLimits? limits = null) =>
        GatewayMediaCodec.Create(mode, "asterisk_1.1", 8192, limits ?? Limits);

    private static GatewayMessage Decode(GatewayMediaCodec codec, byte[] json) =>
        codec.DecodeText(json, new byte[GatewayMediaCodec.MaxPcmLength(json.Length)]);

    private static GatewayViolation Violation(GatewayMediaCodec codec, byte[] json) =>
        Assert.Throws<GatewayViolationException>(() => Decode(codec, json)).Violation;

    private static byte[] Mark(string nameJson) => Encoding.UTF8.GetBytes("{\"event\":\"mark\",\"mark\":{\"name\":\"" + nameJson + "\"}}");

    private static byte[] Nested(int depth) =>
        Encoding.UTF8.GetBytes(new string('[', depth - 1).Insert(0, "{\"event\":\"mark\",\"x\":") + new string(']', depth - 1) + "}");

    [Fact]
    public void The_defaults_are_the_settings_defaults()
    {
        var options = new RelayOptions();
        Assert.Equal(GatewayLimits.From(options), GatewayLimits.Default);
        Assert.Equal(new GatewayLimits(64 * 1024, 16, 256), GatewayLimits.Default);
        Assert.Equal(256, options.MaxPendingMarks);
    }

    [Theory]
    [InlineData(MediaMode.Twilio)]
    [InlineData(MediaMode.AstraPbxBinary)]
    public void A_text_message_over_the_size_bound_is_a_violation_and_one_at_the_bound_decodes(MediaMode mode)
    {
        var codec = Codec(mode);
        var head = "{\"event\":\"clear\",\"pad\":\""u8.ToArray();
        var tail = "\"}"u8.ToArray();
        byte[] Of(int length) => [.. head, .. Encoding.ASCII.GetBytes(new string('x', length - head.Length - tail.Length)), .. tail];

        Assert.Equal(GatewayEventKind.Clear, Decode(codec, Of(4096)).Kind);
        Assert.Equal(GatewayViolation.TextMessageTooLarge, Violation(codec, Of(4097)));
        Assert.Equal(GatewayViolation.TextMessageTooLarge, Violation(codec, new byte[1024 * 1024]));
    }

    [Fact]
    public void Json_deeper_than_the_bound_is_a_violation_not_an_unparseable_message()
    {
        var codec = Codec(MediaMode.Twilio);

        Assert.Equal(GatewayEventKind.Mark, Decode(codec, Nested(16)).Kind);
        Assert.Equal(GatewayViolation.JsonTooDeep, Violation(codec, Nested(17)));
        // Unclosed: the bound is hit before the reader finds the message truncated.
        Assert.Equal(GatewayViolation.JsonTooDeep, Violation(codec, Encoding.ASCII.GetBytes(new string('[', 4000))));
    }

    [Fact]
    public void A_mark_name_over_the_length_bound_is_a_violation()
    {
        var codec = Codec(MediaMode.AstraPbxBinary);

        Assert.Equal(new string('m', 256), Decode(codec, Mark(new string('m', 256))).MarkName);
        Assert.Equal(GatewayViolation.MarkNameTooLong, Violation(codec, Mark(new string('m', 257))));
        // The bound is on the name's UTF-8 bytes: 128 two-byte characters fit, one more does not.
        Assert.Equal(new string('é', 128), Decode(codec, Mark(new string('é', 128))).MarkName);
        Assert.Equal(GatewayViolation.MarkNameTooLong, Violation(codec, Mark(new string('é', 129))));
    }

    [Fact]
    public void An_escaped_mark_name_is_bounded_by_its_decoded_length()
    {
        var codec = Codec(MediaMode.Twilio);
        var escaped = string.Concat(Enumerable.Repeat("\\u0041", 256));

        Assert.Equal(new string('A', 256), Decode(codec, Mark(escaped)).MarkName);
        Assert.Equal(GatewayViolation.MarkNameTooLong, Violation(codec, Mark(escaped + "\\u0041")));
    }

    [Fact]
    public void A_one_mebibyte_mark_name_is_a_violation_even_when_the_message_size_allows_it()
    {
        var codec = Codec(MediaMode.Twilio, Limits with { MaxTextMessageBytes = 2 * 1024 * 1024 });

        Assert.Equal(GatewayViolation.MarkNameTooLong, Violation(codec, Mark(new string('m', 1024 * 1024))));
    }

    [Fact]
    public void Marks_past_the_pending_bound_are_a_violation_before_any_playout()
    {
        // No frame is read: this is a session not yet claimed by Asterisk, whose marks cannot come due.
        var jitter = new JitterBuffer(targetMs: 0, capMs: 1000, maxPendingMarks: 256);
        for (var i = 0; i < 256; i++)
        {
            jitter.AddMark("m" + i);
        }

        var flood = Assert.Throws<GatewayViolationException>(() => jitter.AddMark("one-too-many"));
        Assert.Equal(GatewayViolation.TooManyMarks, flood.Violation);
        Assert.Equal(256, jitter.PendingMarks);
    }

    [Fact]
    public void A_mark_that_came_due_frees_its_place()
    {
        var jitter = new JitterBuffer(targetMs: 0, capMs: 1000, maxPendingMarks: 2);
        jitter.AddMark("a");
        jitter.AddMark("b");
        Assert.True(jitter.TryTakeDueMark(out var name));
        Assert.Equal("a", name);

        jitter.AddMark("c");
        Assert.Equal(2, jitter.PendingMarks);
        Assert.Throws<GatewayViolationException>(() => jitter.AddMark("d"));
    }

    [Fact]
    public void An_odd_trailing_byte_waits_for_the_next_write()
    {
        var jitter = new JitterBuffer(targetMs: 0, capMs: 1000);
        jitter.Write(new byte[321]);
        Assert.Equal(320, jitter.Count);
        jitter.Write(new byte[1]);
        Assert.Equal(322, jitter.Count);
    }

    [Theory]
    [InlineData(8000)]
    [InlineData(16000)]
    public void Bot_pcm_split_at_any_offsets_plays_bit_exact(int rate)
    {
        // Ticks run between the parts, and some find no new audio, so partial frames are played padded with silence:
        // that is where a half sample used to shift every sample after it. No input byte is zero, so the padding is
        // the all-zero samples, and the samples left must be the bot's, in order.
        Gen.Select(Gen.Int[1, 20], Gen.Int[0, int.MaxValue], Gen.Int[1, 24]).Sample((frames, seed, parts) =>
        {
            var random = new Random(seed);
            var jitter = new JitterBuffer(targetMs: 0, capMs: 10_000, sampleRate: rate);
            var pcm = new byte[frames * jitter.FrameBytes];
            for (var i = 0; i < pcm.Length; i++)
            {
                pcm[i] = (byte)random.Next(1, 256);
            }

            var cuts = new SortedSet<int> { 0, pcm.Length };
            while (cuts.Count < parts + 1)
            {
                cuts.Add(random.Next(1, pcm.Length));
            }

            var codec = Codec(MediaMode.AstraPbxBinary);
            var played = new List<byte>();
            var frame = new byte[jitter.FrameBytes];
            void Tick()
            {
                if (jitter.ReadFrame(frame))
                {
                    played.AddRange(frame);
                }
            }

            var from = 0;
            foreach (var cut in cuts.Skip(1))
            {
                jitter.Write(codec.DecodeBinary(pcm.AsSpan(from, cut - from)).Pcm);
                from = cut;
                Tick();
                if (random.Next(2) == 0)
                {
                    Tick();
                }
            }

            for (var tick = 0; tick < frames + 2; tick++)
            {
                Tick();
            }

            var expected = Samples(pcm);
            var heard = Samples(played.ToArray()).Where(sample => sample != 0).ToArray();
            if (jitter.TrimmedFrames == 0)
            {
                Assert.Equal(expected, heard);
                return;
            }

            // Drift correction may drop whole frames on purpose (audio arriving at about one frame per tick with a gap
            // owed, as these writes can look): then every sample heard is the bot's, in order, and exactly the trimmed
            // frames' samples are missing. A shifted half sample would make the samples heard differ from the bot's.
            Assert.Equal(expected.Length - (jitter.TrimmedFrames * jitter.FrameBytes / 2), heard.Length);
            Assert.True(IsInOrderWithin(heard, expected), "the samples heard are the bot's, in order");
        });
    }

    private static bool IsInOrderWithin(short[] part, short[] whole)
    {
        var at = 0;
        foreach (var sample in part)
        {
            while (at < whole.Length && whole[at] != sample)
            {
                at++;
            }

            if (at++ >= whole.Length)
            {
                return false;
            }
        }

        return true;
    }

    private static short[] Samples(byte[] pcm)
    {
        var samples = new short[pcm.Length / 2];
        for (var i = 0; i < samples.Length; i++)
        {
            samples[i] = BitConverter.ToInt16(pcm, i * 2);
        }

        return samples;
    }
}

