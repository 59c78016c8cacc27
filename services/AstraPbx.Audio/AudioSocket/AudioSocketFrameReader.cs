using System.Buffers;
using System.Buffers.Binary;

namespace AstraPbx.Audio.AudioSocket;

/// <summary>Decodes AudioSocket frames from a byte stream (<c>res/res_audiosocket.c</c>):
/// <code>
/// +--------+----------------+---------------------------+
/// | kind   | length         | payload                   |
/// | 1 byte | 2 bytes, BE    | length bytes              |
/// +--------+----------------+---------------------------+
/// </code>
/// The length is big-endian (network order) while the PCM inside audio payloads is little-endian.
/// Pure and allocation-free: the payload is handed back as a slice of the input.</summary>
public static class AudioSocketFrameReader
{
    /// <summary>kind (1) + length (2).</summary>
    public const int HeaderLength = 3;

    /// <summary>Reads one frame from the start of <paramref name="buffer"/>. Returns false ("need more data") until
    /// the header and the whole payload are buffered; then <paramref name="consumed"/> is the position just after the
    /// frame. Never throws on any input: the kind byte is passed through as is for the caller to judge.</summary>
    public static bool TryRead(in ReadOnlySequence<byte> buffer, out AudioSocketFrame frame, out SequencePosition consumed)
    {
        frame = default;
        consumed = buffer.Start;
        if (buffer.Length < HeaderLength)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[HeaderLength];
        buffer.Slice(0, HeaderLength).CopyTo(header);
        var length = BinaryPrimitives.ReadUInt16BigEndian(header[1..]);
        if (buffer.Length - HeaderLength < length)
        {
            return false;
        }

        var payload = buffer.Slice(HeaderLength, length);
        frame = new AudioSocketFrame((AudioSocketKind)header[0], payload);
        consumed = payload.End;
        return true;
    }

    /// <summary>The payload length a buffered header announces, or -1 while fewer than 3 bytes are buffered.
    /// Lets a reader refuse an oversized frame before waiting for its payload.</summary>
    public static int PeekLength(in ReadOnlySequence<byte> buffer)
    {
        if (buffer.Length < HeaderLength)
        {
            return -1;
        }

        Span<byte> header = stackalloc byte[HeaderLength];
        buffer.Slice(0, HeaderLength).CopyTo(header);
        return BinaryPrimitives.ReadUInt16BigEndian(header[1..]);
    }

    /// <summary>Reads the session UUID from a UUID frame payload (RFC 4122 byte order); false unless it is 16 bytes.</summary>
    public static bool TryReadUuid(in ReadOnlySequence<byte> payload, out Guid sessionId)
    {
        sessionId = Guid.Empty;
        if (payload.Length != 16)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[16];
        payload.CopyTo(bytes);
        sessionId = new Guid(bytes, bigEndian: true);
        return true;
    }
}
