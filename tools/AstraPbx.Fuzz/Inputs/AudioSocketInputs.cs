using System.Buffers;
using AstraPbx.Audio.AudioSocket;
using CsCheck;

namespace AstraPbx.Fuzz.Inputs;

/// <summary>How the connection from Asterisk ends after the input's bytes.</summary>
public enum StreamEnd
{
    /// <summary>A graceful close (FIN): what Asterisk does on hangup.</summary>
    Close,

    /// <summary>The connection fails (a reset).</summary>
    Reset,
}

/// <summary>What Asterisk might send on an AudioSocket connection (PROTOCOLS.md 1): valid frames of every kind, frames
/// with wrong lengths, unknown kinds, oversized headers, truncation and noise, as generators.</summary>
internal static class AudioSocketInputs
{
    private static readonly byte[] DtmfDigits = "0123456789*#ABCD"u8.ToArray();

    /// <summary>One frame's bytes: header and payload, whatever they are (the frame writer refuses what the relay must
    /// never send, such as empty audio; Asterisk's side is not held to that here).</summary>
    public static byte[] Frame(AudioSocketKind kind, ReadOnlySpan<byte> payload) => Header((byte)kind, payload.Length, payload);

    /// <summary>A header that announces <paramref name="length"/> bytes, followed by <paramref name="payload"/> (which
    /// may be shorter or longer: a lie about the length).</summary>
    public static byte[] Header(byte kind, int length, ReadOnlySpan<byte> payload) =>
        [kind, (byte)(length >> 8), (byte)length, .. payload];

    public static byte[] Uuid(Guid id)
    {
        var writer = new ArrayBufferWriter<byte>(19);
        AudioSocketFrameWriter.WriteUuid(writer, id);
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>Audio in the kinds Asterisk sends (mostly 0x10 and 0x12 at their 20 ms size), and at other rates, empty,
    /// odd or arbitrary lengths.</summary>
    public static Gen<byte[]> Audio { get; } =
        from kind in Gen.Frequency((6, Gen.Const((byte)0x10)), (3, Gen.Const((byte)0x12)), (1, Gen.Byte[0x11, 0x18]))
        from length in Gen.Frequency(
            (6, Gen.Const(AudioSocketFormat.FrameBytes(AudioSocketFormat.SampleRate((AudioSocketKind)kind)))),
            (1, Gen.Const(0)),
            (2, Gen.Int[1, 700]),
            (1, Gen.Int[700, 9000]))
        from fill in Gen.Byte
        select Frame((AudioSocketKind)kind, Pcm(length, fill));

    public static Gen<byte[]> Dtmf { get; } = Gen.Frequency(
        (4, Gen.Int[0, DtmfDigits.Length - 1].Select(i => Frame(AudioSocketKind.Dtmf, [DtmfDigits[i]]))),
        (2, Gen.Byte.Select(b => Frame(AudioSocketKind.Dtmf, [b]))),
        (1, Gen.Byte.Array[0, 4].Select(p => Frame(AudioSocketKind.Dtmf, p))));

    /// <summary>The kinds Asterisk should never send after the UUID, or not like this.</summary>
    public static Gen<byte[]> Odd { get; } = Gen.OneOf(
        Gen.Const(() => Frame(AudioSocketKind.Hangup, [])),
        Gen.Byte.Array[1, 4].Select(p => Frame(AudioSocketKind.Hangup, p)),
        Gen.Byte.Array[0, 4].Select(p => Frame(AudioSocketKind.Error, p)),
        Gen.Guid.Select(Uuid),
        Gen.Select(Gen.Byte[0x19, 0xFE], Gen.Byte.Array[0, 8], (k, p) => Frame((AudioSocketKind)k, p)),
        Gen.Select(Gen.Byte, Gen.Int[8193, 65535], Gen.Byte.Array[0, 64], (k, n, p) => Header(k, n, p)),
        Gen.Byte.Array[1, 40]);

    /// <summary>What Asterisk sends once the UUID is in: a few frames, mostly well formed, then mutated as a whole.</summary>
    public static Gen<byte[]> CallerStream { get; } = Mutation.Mutated(
        Gen.Frequency((6, Audio), (2, Dtmf), (2, Odd)).Array[0, 8].Select(frames => frames.SelectMany(f => f).ToArray()));

    /// <summary>The first bytes on a connection: the session's UUID frame (then a caller stream), a mutated UUID frame,
    /// another kind first, or noise.</summary>
    public static Gen<byte[]> FirstBytes(Guid session) => Gen.Frequency(
        (3, CallerStream.Select(tail => (byte[])[.. Uuid(session), .. tail])),
        (4, Mutation.Mutated(Gen.Const(() => Uuid(session)))),
        (1, Gen.Guid.Select(Uuid)),
        (1, Gen.Select(Gen.Byte, Gen.Int[0, 65535], Gen.Byte.Array[0, 32], (k, n, p) => Header(k, n, p))),
        (1, Gen.Byte.Array[0, 64]));

    /// <summary>How the bytes are cut into the reads the relay sees (sizes of the leading chunks; the rest is one).</summary>
    public static Gen<int[]> Chunks { get; } = Gen.Frequency((3, Gen.Const(Array.Empty<int>())), (4, Gen.Int[1, 40].Array[1, 6]));

    private static byte[] Pcm(int length, byte fill)
    {
        var pcm = new byte[length];
        for (var i = 0; i < pcm.Length; i++)
        {
            pcm[i] = (byte)(fill + (i * 37));
        }

        return pcm;
    }
}
