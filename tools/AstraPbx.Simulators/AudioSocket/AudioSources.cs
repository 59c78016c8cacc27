using System.Buffers.Binary;

namespace AstraPbx.Simulators.AudioSocket;

/// <summary>What a simulated caller says: fills one 20 ms frame of 16-bit little-endian PCM at a time.</summary>
public interface IAudioSource
{
    /// <summary>Fills <paramref name="frame"/> with the audio of frame number <paramref name="index"/> (0-based).</summary>
    void Fill(Span<byte> frame, long index);
}

/// <summary>Digital silence.</summary>
public sealed class SilenceSource(int sampleRate) : IAudioSource
{
    public int SampleRate { get; } = sampleRate;

    public void Fill(Span<byte> frame, long index) => frame.Clear();
}

/// <summary>A continuous sine tone (default 440 Hz at 8 kHz, amplitude 8000).</summary>
public sealed class ToneSource(double frequency = 440, int sampleRate = 8000, short amplitude = 8000) : IAudioSource
{
    public void Fill(Span<byte> frame, long index)
    {
        var samples = frame.Length / 2;
        var first = index * samples;
        for (var i = 0; i < samples; i++)
        {
            var value = (short)(amplitude * Math.Sin(2 * Math.PI * frequency * (first + i) / sampleRate));
            BinaryPrimitives.WriteInt16LittleEndian(frame[(i * 2)..], value);
        }
    }
}
