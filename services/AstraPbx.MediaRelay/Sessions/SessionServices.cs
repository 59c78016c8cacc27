using AstraPbx.ServiceDefaults.Messaging;

namespace AstraPbx.MediaRelay.Sessions;

/// <summary>What a session needs from the relay around it.</summary>
internal sealed record SessionServices(IOutboundPublisher Outbound, RelayOptions Options, ILogger Logger);
