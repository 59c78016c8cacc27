using System.Buffers.Binary;

namespace AstraPbx.MediaRelay.Tests.Support;

/// <summary>Bot audio for playout assertions.</summary>
internal static class TestPcm
{
    /// <summary>PCM whose every 20 ms frame is different and never all zero, so frames can be told from silence
    /// and from each other: 8 kHz frames of 320 bytes by default, 16 kHz with <paramref name="frameBytes"/> 640.</summary>
    public static byte[] Pattern(int frames, int frameBytes = 320)
    {
        var pcm = new byte[frames * frameBytes];
        var samplesPerFrame = frameBytes / 2;
        for (var i = 0; i < pcm.Length / 2; i++)
        {
            BinaryPrimitives.WriteInt16LittleEndian(pcm.AsSpan(i * 2), (short)(1 + (i % 997) + (i / samplesPerFrame % 7) * 1000));
        }

        return pcm;
    }
}
