using System.Buffers;

namespace AstraPbx.Audio.AudioSocket;

/// <summary>One decoded frame. <see cref="Payload"/> is a slice of the reader's buffer: valid only until that
/// buffer is advanced past it.</summary>
public readonly struct AudioSocketFrame(AudioSocketKind kind, ReadOnlySequence<byte> payload)
{
    public AudioSocketKind Kind { get; } = kind;

    public ReadOnlySequence<byte> Payload { get; } = payload;

    public int Length => (int)Payload.Length;
}
