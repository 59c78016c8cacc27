using MassTransit;

namespace AstraPbx.MediaRelay.Sessions;

/// <summary>What a session needs from the relay around it.</summary>
internal sealed record SessionServices(IBus Bus, RelayOptions Options, ILogger Logger);
