using System.Buffers.Binary;

namespace AstraPbx.Simulators.Gateway;

/// <summary>Generated audio for the fake gateway (PCM 16-bit little-endian, 8 kHz mono).</summary>
public static class GatewayAudio
{
    /// <summary>A tone of <paramref name="frequency"/> Hz lasting <paramref name="duration"/>.</summary>
    public static byte[] Tone(double frequency, TimeSpan duration, short amplitude = 8000)
    {
        var samples = (int)(8000 * duration.TotalSeconds);
        var pcm = new byte[samples * 2];
        for (var i = 0; i < samples; i++)
        {
            var value = (short)(amplitude * Math.Sin(2 * Math.PI * frequency * i / 8000));
            BinaryPrimitives.WriteInt16LittleEndian(pcm.AsSpan(i * 2), value);
        }

        return pcm;
    }

    /// <summary>The demo bot's greeting: two rising beeps (440 Hz, 660 Hz, 300 ms each, 200 ms apart), 1 s in all.</summary>
    public static byte[] DemoPrompt()
    {
        var beep1 = Tone(440, TimeSpan.FromMilliseconds(300));
        var gap = new byte[2 * 8000 * 200 / 1000];
        var beep2 = Tone(660, TimeSpan.FromMilliseconds(300));
        return [.. beep1, .. gap, .. beep2, .. gap];
    }
}
