using System.Buffers.Binary;

namespace AstraPbx.Audio.Codecs;

/// <summary>Converts 16-bit little-endian mono PCM between sample rates, one frame at a time, without allocating
/// (AudioSocket's slin16 0x12 against the gateway's 8 kHz, PROTOCOLS.md 1-2). Up: linear interpolation. Down by 2
/// (16 kHz to 8 kHz): a [1 2 1]/4 low-pass centred on each kept sample, so content above the new Nyquist is damped
/// rather than folded back as aliasing. Other ratios down: the mean of the input samples each output sample covers.
/// Frames are converted independently (no state), so the last sample of an up-sampled frame repeats its last input.</summary>
public static class Resampler
{
    /// <summary>Bytes <see cref="Resample"/> writes for <paramref name="inputBytes"/> bytes of PCM.</summary>
    public static int OutputLength(int inputBytes, int fromRate, int toRate)
    {
        CheckRates(fromRate, toRate);
        ArgumentOutOfRangeException.ThrowIfNegative(inputBytes);
        return (int)((long)(inputBytes / 2) * toRate / fromRate) * 2;
    }

    /// <summary>Resamples <paramref name="pcm16le"/> from <paramref name="fromRate"/> Hz into
    /// <paramref name="destination"/> at <paramref name="toRate"/> Hz; returns the bytes written
    /// (<see cref="OutputLength"/>). Equal rates copy.</summary>
    /// <exception cref="ArgumentException">Odd input length, or the destination is too short.</exception>
    public static int Resample(ReadOnlySpan<byte> pcm16le, int fromRate, Span<byte> destination, int toRate)
    {
        if ((pcm16le.Length & 1) != 0)
        {
            throw new ArgumentException("PCM16 input must have an even number of bytes.", nameof(pcm16le));
        }

        var length = OutputLength(pcm16le.Length, fromRate, toRate);
        if (destination.Length < length)
        {
            throw new ArgumentException($"Destination needs {length} bytes, has {destination.Length}.", nameof(destination));
        }

        var inSamples = pcm16le.Length / 2;
        var outSamples = length / 2;
        if (outSamples == 0)
        {
            return 0;
        }

        if (fromRate == toRate)
        {
            pcm16le.CopyTo(destination);
        }
        else if (toRate == 2 * fromRate)
        {
            Double(pcm16le, inSamples, destination);
        }
        else if (toRate > fromRate)
        {
            Interpolate(pcm16le, inSamples, destination, outSamples, fromRate, toRate);
        }
        else if (fromRate == 2 * toRate)
        {
            HalveWithLowPass(pcm16le, inSamples, destination, outSamples);
        }
        else
        {
            Average(pcm16le, inSamples, destination, outSamples, fromRate, toRate);
        }

        return length;
    }

    private static void Interpolate(ReadOnlySpan<byte> input, int inSamples, Span<byte> output, int outSamples, int fromRate, int toRate)
    {
        for (var i = 0; i < outSamples; i++)
        {
            // Output sample i sits at input position i * from / to; interpolate between its neighbours.
            var position = (long)i * fromRate;
            var index = (int)(position / toRate);
            var fraction = position % toRate;
            var a = Sample(input, index);
            var b = Sample(input, Math.Min(index + 1, inSamples - 1));
            var value = a + (b - a) * fraction / toRate;
            Write(output, i, (int)value);
        }
    }

    /// <summary>The 8 kHz to 16 kHz case of <see cref="Interpolate"/> without its per-sample division.</summary>
    private static void Double(ReadOnlySpan<byte> input, int inSamples, Span<byte> output)
    {
        var a = Sample(input, 0);
        for (var i = 0; i < inSamples; i++)
        {
            var b = i + 1 < inSamples ? Sample(input, i + 1) : a;
            Write(output, 2 * i, a);
            Write(output, 2 * i + 1, a + (b - a) / 2);
            a = b;
        }
    }

    private static void HalveWithLowPass(ReadOnlySpan<byte> input, int inSamples, Span<byte> output, int outSamples)
    {
        for (var i = 0; i < outSamples; i++)
        {
            var centre = 2 * i;
            var before = Sample(input, Math.Max(centre - 1, 0));
            var after = Sample(input, Math.Min(centre + 1, inSamples - 1));
            Write(output, i, (before + 2 * Sample(input, centre) + after + 2) >> 2);
        }
    }

    private static void Average(ReadOnlySpan<byte> input, int inSamples, Span<byte> output, int outSamples, int fromRate, int toRate)
    {
        for (var i = 0; i < outSamples; i++)
        {
            var start = (int)((long)i * fromRate / toRate);
            var end = Math.Min(Math.Max((int)((long)(i + 1) * fromRate / toRate), start + 1), inSamples);
            var sum = 0L;
            for (var j = start; j < end; j++)
            {
                sum += Sample(input, j);
            }

            Write(output, i, (int)(sum / (end - start)));
        }
    }

    private static int Sample(ReadOnlySpan<byte> pcm, int index) => BinaryPrimitives.ReadInt16LittleEndian(pcm[(index * 2)..]);

    private static void Write(Span<byte> pcm, int index, int value) =>
        BinaryPrimitives.WriteInt16LittleEndian(pcm[(index * 2)..], (short)Math.Clamp(value, short.MinValue, short.MaxValue));

    private static void CheckRates(int fromRate, int toRate)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(fromRate);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(toRate);
    }
}
