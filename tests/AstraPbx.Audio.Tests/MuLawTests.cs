using System.Buffers.Binary;
using AstraPbx.Audio.Codecs;
using Xunit;

namespace AstraPbx.Audio.Tests;

public sealed class MuLawTests
{
    [Theory]
    [InlineData(0, 0xFF)]
    [InlineData(8, 0xFE)]
    [InlineData(-8, 0x7E)]
    [InlineData(32767, 0x80)]
    [InlineData(32124, 0x80)]
    [InlineData(-32768, 0x00)]
    [InlineData(-32124, 0x00)]
    [InlineData(4092, 0xAF)] // 4092 + 132 = 0x1080: segment 5, mantissa 0, inverted
    [InlineData(-4092, 0x2F)]
    public void Encode_matches_G711_reference_values(short sample, byte expected) =>
        Assert.Equal(expected, MuLaw.Encode(sample));

    [Theory]
    [InlineData(0xFF, 0)]
    [InlineData(0x7F, 0)]
    [InlineData(0xFE, 8)]
    [InlineData(0x7E, -8)]
    [InlineData(0x80, 32124)]
    [InlineData(0x00, -32124)]
    [InlineData(0xAF, 4092)]
    [InlineData(0xA0, 7932)]
    [InlineData(0xF0, 120)]
    public void Decode_matches_G711_reference_values(byte ulaw, short expected) =>
        Assert.Equal(expected, MuLaw.Decode(ulaw));

    [Fact]
    public void Every_code_but_negative_zero_survives_decode_then_encode()
    {
        for (var u = 0; u < 256; u++)
        {
            var expected = u == 0x7F ? 0xFF : u; // 0x7F is "-0": it decodes to 0, which encodes as 0xFF
            Assert.Equal((byte)expected, MuLaw.Encode(MuLaw.Decode((byte)u)));
        }
    }

    [Fact]
    public void Round_trip_error_stays_within_one_quantisation_step_for_every_sample()
    {
        for (int x = short.MinValue; x <= short.MaxValue; x++)
        {
            var error = Math.Abs(MuLaw.Decode(MuLaw.Encode((short)x)) - x);
            // A segment's step is 1/16 of its start (8 in the first); +3 for the 2 low bits the 14-bit table drops;
            // above 32124 the encoder clips.
            var bound = Math.Max(11 + Math.Abs(x) / 16, Math.Abs(x) - 32124 + 11);
            Assert.True(error <= bound, $"sample {x}: error {error} > {bound}");
        }
    }

    [Fact]
    public void Encoding_is_monotonic_in_the_decoded_value()
    {
        var previous = int.MinValue;
        for (int x = short.MinValue; x <= short.MaxValue; x += 7)
        {
            var decoded = MuLaw.Decode(MuLaw.Encode((short)x));
            Assert.True(decoded >= previous, $"sample {x} decodes to {decoded} < {previous}");
            previous = decoded;
        }
    }

    [Fact]
    public void Span_conversions_agree_with_the_scalar_ones()
    {
        var pcm = new byte[320];
        var random = new Random(7);
        random.NextBytes(pcm);
        var ulaw = new byte[160];
        MuLaw.EncodePcm16(pcm, ulaw);
        var back = new byte[320];
        MuLaw.DecodeToPcm16(ulaw, back);
        for (var i = 0; i < 160; i++)
        {
            var sample = BinaryPrimitives.ReadInt16LittleEndian(pcm.AsSpan(i * 2));
            Assert.Equal(MuLaw.Encode(sample), ulaw[i]);
            Assert.Equal(MuLaw.Decode(ulaw[i]), BinaryPrimitives.ReadInt16LittleEndian(back.AsSpan(i * 2)));
        }
    }

    [Fact]
    public void Span_conversions_refuse_short_destinations_and_odd_input()
    {
        Assert.Throws<ArgumentException>(() => MuLaw.EncodePcm16(new byte[320], new byte[159]));
        Assert.Throws<ArgumentException>(() => MuLaw.EncodePcm16(new byte[321], new byte[161]));
        Assert.Throws<ArgumentException>(() => MuLaw.DecodeToPcm16(new byte[160], new byte[319]));
    }

    [Fact]
    public void Frame_conversions_allocate_nothing()
    {
        var pcm = new byte[320];
        var ulaw = new byte[160];
        void Convert()
        {
            for (var i = 0; i < 1000; i++)
            {
                MuLaw.EncodePcm16(pcm, ulaw);
                MuLaw.DecodeToPcm16(ulaw, pcm);
            }
        }

        // A whole warm-up pass first: tiered JIT (and on-stack replacement of the loop) may allocate while it runs.
        Convert();
        var before = GC.GetAllocatedBytesForCurrentThread();
        Convert();

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
