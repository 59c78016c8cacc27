using MassTransit;

namespace AstraPbx.Contracts.Media;

/// <summary>Response to <see cref="StartAiSession"/>: the gateway is connected, the handshake sent, and the session
/// waits for Asterisk to dial <see cref="RelayEndpoint"/> with <see cref="SessionId"/>.</summary>
[MessageUrn("astrapbx:media:ai-session-ready:v1")]
public sealed record AiSessionReady
{
    /// <summary>The Asterisk channel id.</summary>
    public required string CallId { get; init; }

    /// <summary>The Asterisk server's entity id.</summary>
    public required string AsteriskId { get; init; }

    /// <summary>The AudioSocket session UUID that was prepared.</summary>
    public required Guid SessionId { get; init; }

    /// <summary>The <c>host:port</c> Asterisk must dial (the relay's advertised AudioSocket address).</summary>
    public required string RelayEndpoint { get; init; }

    /// <summary>The relay instance that holds the session (its host name or pod name).</summary>
    public string RelayInstance { get; init; } = "";

    /// <summary>How long the gateway connect and handshake took, in milliseconds.</summary>
    public double GatewayConnectMs { get; init; }
}
