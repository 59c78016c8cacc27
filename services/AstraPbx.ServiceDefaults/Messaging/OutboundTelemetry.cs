using System.Diagnostics;

namespace AstraPbx.ServiceDefaults.Messaging;

/// <summary>The spans of the outbound queue: each publish runs under a span whose parent is the span current when the
/// message was queued, so the call's trace reaches the bus.</summary>
internal static class OutboundTelemetry
{
    public static readonly ActivitySource Source = new(Telemetry.TelemetryExtensions.SourcePrefix + "Outbound");
}
