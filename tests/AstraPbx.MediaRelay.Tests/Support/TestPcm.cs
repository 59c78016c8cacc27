using System.Buffers.Binary;

namespace AstraPbx.MediaRelay.Tests.Support;

/// <summary>Bot audio for playout assertions.</summary>
internal static class TestPcm
{
    /// <summary>8 kHz PCM whose every 20 ms frame is different and never all zero, so frames can be told from silence
    /// and from each other.</summary>
    public static byte[] Pattern(int frames)
    {
        var pcm = new byte[frames * 320];
        for (var i = 0; i < pcm.Length / 2; i++)
        {
            BinaryPrimitives.WriteInt16LittleEndian(pcm.AsSpan(i * 2), (short)(1 + (i % 997) + (i / 160 % 7) * 1000));
        }

        return pcm;
    }
}
