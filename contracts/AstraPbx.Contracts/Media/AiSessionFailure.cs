namespace AstraPbx.Contracts.Media;

/// <summary>Why a relay could not prepare an AI session.</summary>
public enum AiSessionFailure
{
    /// <summary>Anything not listed below.</summary>
    Other = 0,

    /// <summary>The gateway host name did not resolve.</summary>
    Dns = 1,

    /// <summary>The gateway refused the TCP connection.</summary>
    Refused = 2,

    /// <summary>The TLS handshake with the gateway failed.</summary>
    Tls = 3,

    /// <summary>The gateway did not complete the WebSocket connect within the timeout.</summary>
    Timeout = 4,

    /// <summary>The gateway rejected the WebSocket upgrade or closed during the handshake.</summary>
    HandshakeRejected = 5,

    /// <summary>The relay is at its configured session limit.</summary>
    OverCapacity = 6,

    /// <summary>The relay is draining and takes no new sessions.</summary>
    Draining = 7,

    /// <summary>The gateway URL is not a valid <c>ws://</c> or <c>wss://</c> URL.</summary>
    InvalidUrl = 8,
}
