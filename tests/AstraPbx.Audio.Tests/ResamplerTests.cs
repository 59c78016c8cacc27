using System.Buffers.Binary;
using AstraPbx.Audio.Codecs;
using Xunit;

namespace AstraPbx.Audio.Tests;

public sealed class ResamplerTests
{
    [Theory]
    [InlineData(320, 8000, 16000, 640)]
    [InlineData(640, 16000, 8000, 320)]
    [InlineData(320, 8000, 8000, 320)]
    [InlineData(320, 8000, 12000, 480)]
    [InlineData(1920, 48000, 8000, 320)]
    [InlineData(0, 8000, 16000, 0)]
    public void Output_length_follows_the_rate_ratio(int inputBytes, int from, int to, int expected)
    {
        Assert.Equal(expected, Resampler.OutputLength(inputBytes, from, to));
        var output = new byte[expected + 8];
        Assert.Equal(expected, Resampler.Resample(new byte[inputBytes], from, output, to));
    }

    [Fact]
    public void Equal_rates_copy()
    {
        var input = new byte[320];
        new Random(3).NextBytes(input);
        var output = new byte[320];
        Resampler.Resample(input, 8000, output, 8000);
        Assert.Equal(input, output);
    }

    [Theory]
    [InlineData(8000, 16000)]
    [InlineData(16000, 8000)]
    [InlineData(8000, 12000)]
    [InlineData(48000, 8000)]
    public void A_constant_level_stays_constant(int from, int to)
    {
        foreach (short level in new short[] { 1000, -12345, short.MaxValue, short.MinValue })
        {
            var input = Pcm(from / 50, _ => level);
            var output = new byte[Resampler.OutputLength(input.Length, from, to)];
            Resampler.Resample(input, from, output, to);
            for (var i = 0; i < output.Length / 2; i++)
            {
                Assert.Equal(level, BinaryPrimitives.ReadInt16LittleEndian(output.AsSpan(i * 2)));
            }
        }
    }

    [Theory]
    [InlineData(8000, 16000, 440)]
    [InlineData(8000, 16000, 1000)]
    [InlineData(16000, 8000, 440)]
    [InlineData(16000, 8000, 1000)]
    public void A_speech_band_tone_keeps_its_shape(int from, int to, double frequency)
    {
        var input = Pcm(from / 50, i => Tone(frequency, from, i));
        var output = new byte[Resampler.OutputLength(input.Length, from, to)];
        Resampler.Resample(input, from, output, to);

        var samples = output.Length / 2;
        double errorSquares = 0;
        double signalSquares = 0;
        // The last output sample of an up-sampled frame has no following input to interpolate towards.
        for (var i = 0; i < samples - 1; i++)
        {
            var expected = Tone(frequency, to, i);
            var actual = BinaryPrimitives.ReadInt16LittleEndian(output.AsSpan(i * 2));
            errorSquares += (actual - expected) * (double)(actual - expected);
            signalSquares += expected * (double)expected;
        }

        var relativeRms = Math.Sqrt(errorSquares / signalSquares);
        Assert.True(relativeRms < 0.08, $"relative RMS error {relativeRms:0.000}");
    }

    [Fact]
    public void Down_sampling_damps_content_above_the_new_nyquist_instead_of_aliasing_it()
    {
        // 6 kHz at 16 kHz cannot exist at 8 kHz; plain decimation would fold it to 2 kHz at full level.
        var input = Pcm(320, i => Tone(6000, 16000, i));
        var output = new byte[320];
        Resampler.Resample(input, 16000, output, 8000);
        Assert.True(Rms(output) < 0.2 * Rms(input), $"output RMS {Rms(output):0} vs input {Rms(input):0}");
    }

    [Fact]
    public void Refuses_odd_input_short_destination_and_bad_rates()
    {
        Assert.Throws<ArgumentException>(() => Resampler.Resample(new byte[321], 8000, new byte[1000], 16000));
        Assert.Throws<ArgumentException>(() => Resampler.Resample(new byte[320], 8000, new byte[639], 16000));
        Assert.Throws<ArgumentOutOfRangeException>(() => Resampler.OutputLength(320, 0, 8000));
        Assert.Throws<ArgumentOutOfRangeException>(() => Resampler.OutputLength(320, 8000, -1));
    }

    [Fact]
    public void Resampling_a_frame_allocates_nothing()
    {
        var narrow = new byte[320];
        var wide = new byte[640];
        void Convert()
        {
            for (var i = 0; i < 1000; i++)
            {
                Resampler.Resample(narrow, 8000, wide, 16000);
                Resampler.Resample(wide, 16000, narrow, 8000);
            }
        }

        // A whole warm-up pass first: tiered JIT (and on-stack replacement of the loop) may allocate while it runs.
        Convert();
        var before = GC.GetAllocatedBytesForCurrentThread();
        Convert();

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static short Tone(double frequency, int rate, int index) =>
        (short)(10000 * Math.Sin(2 * Math.PI * frequency * index / rate));

    private static byte[] Pcm(int samples, Func<int, short> sample)
    {
        var pcm = new byte[samples * 2];
        for (var i = 0; i < samples; i++)
        {
            BinaryPrimitives.WriteInt16LittleEndian(pcm.AsSpan(i * 2), sample(i));
        }

        return pcm;
    }

    private static double Rms(byte[] pcm)
    {
        double sum = 0;
        for (var i = 0; i < pcm.Length / 2; i++)
        {
            double s = BinaryPrimitives.ReadInt16LittleEndian(pcm.AsSpan(i * 2));
            sum += s * s;
        }

        return Math.Sqrt(sum / (pcm.Length / 2));
    }
}
