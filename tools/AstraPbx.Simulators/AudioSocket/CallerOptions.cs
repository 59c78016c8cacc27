using AstraPbx.Audio.AudioSocket;

namespace AstraPbx.Simulators.AudioSocket;

/// <summary>How <see cref="AudioSocketCaller.DialAsync(string, int, Guid, CallerOptions, CancellationToken)"/> behaves.</summary>
public sealed class CallerOptions
{
    /// <summary>What the caller says; silence when null.</summary>
    public IAudioSource? Source { get; init; }

    /// <summary>The audio kind sent (0x10 for AudioSocket(), 0x12 for the channel driver's slin16).</summary>
    public AudioSocketKind Kind { get; init; } = AudioSocketKind.Slin;

    /// <summary>A pacer shared by many callers (one thread for all); null: this caller paces itself.</summary>
    public CallerPacer? Pacer { get; init; }

    /// <summary>Called for every received frame (e.g. to measure it without keeping it).</summary>
    public ReceivedFrameHandler? OnFrame { get; init; }

    /// <summary>Keep a copy of every received frame in <see cref="AudioSocketCaller.Received"/> (default true; a
    /// load run turns it off).</summary>
    public bool RecordReceived { get; init; } = true;

    /// <summary>TCP connect timeout; app_audiosocket's is 2000 ms.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromMilliseconds(2000);
}
