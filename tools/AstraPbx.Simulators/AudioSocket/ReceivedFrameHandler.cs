using System.Buffers;
using System.Diagnostics;
using AstraPbx.Audio.AudioSocket;

namespace AstraPbx.Simulators.AudioSocket;

/// <summary>Called for every frame the caller receives, on its receive loop: the payload is only valid during the
/// call. <paramref name="timestamp"/> is the <see cref="Stopwatch.GetTimestamp"/> at which its bytes were read.</summary>
public delegate void ReceivedFrameHandler(AudioSocketKind kind, ReadOnlySequence<byte> payload, long timestamp);
