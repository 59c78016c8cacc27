using System.Buffers.Binary;

namespace AstraPbx.Audio.Codecs;

/// <summary>G.711 mu-law (ITU-T G.711, the codec of Twilio Media Streams' <c>audio/x-mulaw</c>, PROTOCOLS.md 2),
/// by table lookup both ways: a 256-entry decode table and a 16K-entry encode table indexed by the top 14 bits of the
/// sample (mu-law's quantiser only sees 14 bits of magnitude, so nothing is lost by dropping the low 2).</summary>
public static class MuLaw
{
    private const int Bias = 0x84;
    private const int Clip = 32635;

    private static readonly short[] DecodeTable = BuildDecodeTable();
    private static readonly byte[] EncodeTable = BuildEncodeTable();

    /// <summary>Encodes one 16-bit linear sample to mu-law.</summary>
    public static byte Encode(short sample) => EncodeTable[(ushort)sample >> 2];

    /// <summary>Decodes one mu-law byte to a 16-bit linear sample.</summary>
    public static short Decode(byte ulaw) => DecodeTable[ulaw];

    /// <summary>Encodes 16-bit little-endian PCM (<c>2n</c> bytes) into <c>n</c> mu-law bytes.</summary>
    /// <exception cref="ArgumentException">The PCM length is odd or the destination is shorter than half of it.</exception>
    public static void EncodePcm16(ReadOnlySpan<byte> pcm16le, Span<byte> ulaw)
    {
        if ((pcm16le.Length & 1) != 0)
        {
            throw new ArgumentException("PCM16 input must have an even number of bytes.", nameof(pcm16le));
        }

        var samples = pcm16le.Length / 2;
        if (ulaw.Length < samples)
        {
            throw new ArgumentException("Destination is too short for the encoded samples.", nameof(ulaw));
        }

        var table = EncodeTable;
        for (var i = 0; i < samples; i++)
        {
            ulaw[i] = table[BinaryPrimitives.ReadUInt16LittleEndian(pcm16le[(i * 2)..]) >> 2];
        }
    }

    /// <summary>Decodes <c>n</c> mu-law bytes into <c>2n</c> bytes of 16-bit little-endian PCM.</summary>
    /// <exception cref="ArgumentException">The destination is shorter than twice the input.</exception>
    public static void DecodeToPcm16(ReadOnlySpan<byte> ulaw, Span<byte> pcm16le)
    {
        if (pcm16le.Length < ulaw.Length * 2)
        {
            throw new ArgumentException("Destination is too short for the decoded samples.", nameof(pcm16le));
        }

        var table = DecodeTable;
        for (var i = 0; i < ulaw.Length; i++)
        {
            BinaryPrimitives.WriteInt16LittleEndian(pcm16le[(i * 2)..], table[ulaw[i]]);
        }
    }

    /// <summary>The reference G.711 encoder (as in Sun's g711.c), used only to fill the table.</summary>
    private static byte EncodeReference(int sample)
    {
        var sign = (sample >> 8) & 0x80;
        if (sign != 0)
        {
            sample = -sample;
        }

        if (sample > Clip)
        {
            sample = Clip;
        }

        sample += Bias;
        var exponent = 7;
        for (var mask = 0x4000; (sample & mask) == 0 && exponent > 0; mask >>= 1)
        {
            exponent--;
        }

        var mantissa = (sample >> (exponent + 3)) & 0x0F;
        return (byte)~(sign | (exponent << 4) | mantissa);
    }

    private static short[] BuildDecodeTable()
    {
        var table = new short[256];
        for (var i = 0; i < 256; i++)
        {
            var u = ~i & 0xFF;
            var exponent = (u >> 4) & 0x07;
            var mantissa = u & 0x0F;
            var magnitude = (((mantissa << 3) + Bias) << exponent) - Bias;
            table[i] = (short)((u & 0x80) != 0 ? -magnitude : magnitude);
        }

        return table;
    }

    private static byte[] BuildEncodeTable()
    {
        // Index = the sample's top 14 bits as unsigned; the entry encodes the sample with its low 2 bits zero.
        var table = new byte[1 << 14];
        for (var i = 0; i < table.Length; i++)
        {
            table[i] = EncodeReference((short)(i << 2));
        }

        return table;
    }
}
