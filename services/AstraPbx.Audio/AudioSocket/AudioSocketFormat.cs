namespace AstraPbx.Audio.AudioSocket;

/// <summary>Audio arithmetic of the AudioSocket kinds.</summary>
public static class AudioSocketFormat
{
    /// <summary>Every audio frame carries 20 ms.</summary>
    public const int FrameMilliseconds = 20;

    /// <summary>320 = 8000 Hz x 20 ms x 2 bytes: one slin (0x10) frame.</summary>
    public const int SlinFrameBytes = 320;

    /// <summary>The largest payload a frame can declare: the length field is 16 bits.</summary>
    public const int MaxPayloadLength = ushort.MaxValue;

    /// <summary>True for the audio kinds 0x10..0x18, the only kinds besides hangup Asterisk accepts from the relay.</summary>
    public static bool IsAudio(AudioSocketKind kind) => kind >= AudioSocketKind.Slin && kind <= AudioSocketKind.Slin192;

    /// <summary>The sample rate of an audio kind, in Hz; 0 for other kinds.</summary>
    public static int SampleRate(AudioSocketKind kind) => kind switch
    {
        AudioSocketKind.Slin => 8000,
        AudioSocketKind.Slin12 => 12000,
        AudioSocketKind.Slin16 => 16000,
        AudioSocketKind.Slin24 => 24000,
        AudioSocketKind.Slin32 => 32000,
        AudioSocketKind.Slin44 => 44100,
        AudioSocketKind.Slin48 => 48000,
        AudioSocketKind.Slin96 => 96000,
        AudioSocketKind.Slin192 => 192000,
        _ => 0,
    };

    /// <summary>The audio kind for a sample rate, or null when AudioSocket has none.</summary>
    public static AudioSocketKind? KindForRate(int sampleRate) => sampleRate switch
    {
        8000 => AudioSocketKind.Slin,
        12000 => AudioSocketKind.Slin12,
        16000 => AudioSocketKind.Slin16,
        24000 => AudioSocketKind.Slin24,
        32000 => AudioSocketKind.Slin32,
        44100 => AudioSocketKind.Slin44,
        48000 => AudioSocketKind.Slin48,
        96000 => AudioSocketKind.Slin96,
        192000 => AudioSocketKind.Slin192,
        _ => null,
    };

    /// <summary>Bytes in one 20 ms frame of 16-bit mono PCM at <paramref name="sampleRate"/> (320 at 8 kHz, 640 at 16 kHz,
    /// 1764 at 44.1 kHz: multiply before dividing, or 44.1 kHz loses its 0.1).</summary>
    public static int FrameBytes(int sampleRate) => (int)((long)sampleRate * FrameMilliseconds / 1000) * 2;
}
