using AstraPbx.Audio.AudioSocket;

namespace AstraPbx.Simulators.AudioSocket;

/// <summary>A frame the caller received: when (since connect), its kind and a copy of its payload.</summary>
public sealed record ReceivedFrame(TimeSpan At, AudioSocketKind Kind, byte[] Payload);
