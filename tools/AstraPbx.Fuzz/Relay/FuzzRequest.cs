using AstraPbx.Contracts.Media;

namespace AstraPbx.Fuzz.Relay;

/// <summary>The <c>StartAiSession</c> Routing would send for a fuzz call: a complete request, so a gateway that checks the
/// handshake (<see cref="Simulators.Gateway.FakeGateway"/>) accepts it.</summary>
internal static class FuzzRequest
{
    public static StartAiSession For(string callId, Guid sessionId, Uri gateway, MediaMode mode) => new()
    {
        CallId = callId,
        AsteriskId = "fuzz",
        SessionId = sessionId,
        GatewayUrl = gateway.ToString(),
        MediaMode = mode,
        OrgId = "org-fuzz",
        CallerNumber = "+15550100",
        Extension = "600",
        ChannelName = "PJSIP/fuzz-00000001",
    };
}
