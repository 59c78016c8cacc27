using AstraPbx.Audio.AudioSocket;

namespace AstraPbx.Simulators.AudioSocket;

/// <summary>How <see cref="AudioSocketCaller.DialAsync(string, int, Guid, CallerOptions, CancellationToken)"/> behaves.</summary>
public sealed class CallerOptions
{
    /// <summary>What the caller says; silence when null.</summary>
    public IAudioSource? Source { get; init; }

    /// <summary>The audio kind sent (0x10 for AudioSocket(), 0x12 for the channel driver's slin16).</summary>
    public AudioSocketKind Kind { get; init; } = AudioSocketKind.Slin;

    /// <summary>A channel with no media (a <c>Local</c> channel running <c>Wait()</c>, a phone with silence
    /// suppression): the caller sends the UUID frame and any DTMF, never an audio frame. <see cref="Source"/> and
    /// <see cref="Pacer"/> are ignored.</summary>
    public bool Silent { get; init; }

    /// <summary>A pacer shared by many callers (one thread for all); null: this caller paces itself.</summary>
    public CallerPacer? Pacer { get; init; }

    /// <summary>A receiver shared by many callers (one thread reads them all, <see cref="CallerReceiver"/>); null: this
    /// caller reads on its own loop.</summary>
    public CallerReceiver? Receiver { get; init; }

    /// <summary>Called for every received frame (e.g. to measure it without keeping it).</summary>
    public ReceivedFrameHandler? OnFrame { get; init; }

    /// <summary>Keep a copy of every received frame in <see cref="AudioSocketCaller.Received"/> (default true; a
    /// load run turns it off).</summary>
    public bool RecordReceived { get; init; } = true;

    /// <summary>TCP connect timeout; app_audiosocket's is 2000 ms.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromMilliseconds(2000);

    /// <summary>End the call (<see cref="CallerEnd.IdleTimeout"/>) once nothing arrived from the relay and nothing was
    /// sent for this long, as app_audiosocket does after 2000 ms; null (the default) never does. The simulated Asterisk
    /// sets it; a relay test that dials directly leaves it off.</summary>
    public TimeSpan? IdleTimeout { get; init; }
}
