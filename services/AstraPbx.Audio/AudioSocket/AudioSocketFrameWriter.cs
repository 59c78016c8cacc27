using System.Buffers;
using System.Buffers.Binary;

namespace AstraPbx.Audio.AudioSocket;

/// <summary>Encodes AudioSocket frames straight into a buffer writer (a <c>PipeWriter</c>): one contiguous span per
/// frame, header and payload together, so each frame goes out in one write. No allocation.</summary>
public static class AudioSocketFrameWriter
{
    /// <summary>Writes one frame. Throws <see cref="ArgumentException"/> for an audio frame of length 0 (Asterisk
    /// ends the call on it) or a payload over 65535 bytes.</summary>
    public static void Write(IBufferWriter<byte> writer, AudioSocketKind kind, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > AudioSocketFormat.MaxPayloadLength)
        {
            throw new ArgumentException("AudioSocket payloads are at most 65535 bytes", nameof(payload));
        }

        if (payload.Length == 0 && AudioSocketFormat.IsAudio(kind))
        {
            throw new ArgumentException("an empty audio frame ends the call on Asterisk", nameof(payload));
        }

        var span = writer.GetSpan(AudioSocketFrameReader.HeaderLength + payload.Length);
        span[0] = (byte)kind;
        BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)payload.Length);
        payload.CopyTo(span[AudioSocketFrameReader.HeaderLength..]);
        writer.Advance(AudioSocketFrameReader.HeaderLength + payload.Length);
    }

    /// <summary>The hangup frame (0x00, length 0): Asterisk ends AudioSocket() and the dialplan continues.</summary>
    public static void WriteHangup(IBufferWriter<byte> writer) => Write(writer, AudioSocketKind.Hangup, []);

    /// <summary>The UUID frame Asterisk sends first: the 16 bytes of <paramref name="sessionId"/> in RFC 4122 (big-endian) order.</summary>
    public static void WriteUuid(IBufferWriter<byte> writer, Guid sessionId)
    {
        Span<byte> bytes = stackalloc byte[16];
        sessionId.TryWriteBytes(bytes, bigEndian: true, out _);
        Write(writer, AudioSocketKind.Uuid, bytes);
    }
}
