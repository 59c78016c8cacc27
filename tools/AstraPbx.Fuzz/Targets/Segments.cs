using System.Buffers;

namespace AstraPbx.Fuzz.Targets;

/// <summary>Bytes as a multi-segment sequence, cut where a socket's reads might cut them.</summary>
internal sealed class Segments : ReadOnlySequenceSegment<byte>
{
    private Segments(ReadOnlyMemory<byte> memory, long runningIndex)
    {
        Memory = memory;
        RunningIndex = runningIndex;
    }

    public static ReadOnlySequence<byte> Split(byte[] bytes, int[] chunks)
    {
        var first = new Segments(bytes.AsMemory(0, Math.Min(chunks.Length > 0 ? chunks[0] : bytes.Length, bytes.Length)), 0);
        var last = first;
        var at = first.Memory.Length;
        for (var i = 1; i <= chunks.Length && at < bytes.Length; i++)
        {
            var length = i < chunks.Length ? Math.Min(chunks[i], bytes.Length - at) : bytes.Length - at;
            var next = new Segments(bytes.AsMemory(at, length), at);
            last.Next = next;
            last = next;
            at += length;
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }
}
