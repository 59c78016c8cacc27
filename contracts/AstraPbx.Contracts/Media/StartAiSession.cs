using MassTransit;

namespace AstraPbx.Contracts.Media;

/// <summary>Command (request), sent by Routing to the media relays (competing consumers): open the gateway
/// WebSocket, send the handshake and prepare a one-shot AudioSocket session. Replies <see cref="AiSessionReady"/>
/// or <see cref="AiSessionFailed"/>.</summary>
[MessageUrn("astrapbx:media:start-ai-session:v1")]
public sealed record StartAiSession
{
    /// <summary>The Asterisk channel id.</summary>
    public required string CallId { get; init; }

    /// <summary>The Asterisk server's entity id.</summary>
    public required string AsteriskId { get; init; }

    /// <summary>The AudioSocket session UUID, chosen by Routing; Asterisk sends it as the first frame.</summary>
    public required Guid SessionId { get; init; }

    /// <summary>The gateway WebSocket URL (<c>ws://</c> or <c>wss://</c>) from <c>users.routing_destination</c>.
    /// Its query string carries a secret: the relay never logs it or puts it in a span; it is redacted
    /// as <c>?key=***</c> everywhere else.</summary>
    public required string GatewayUrl { get; init; }

    /// <summary>The sample rate Asterisk's AudioSocket carries for this call, which the relay plays out at from the
    /// claim on: 8000 for the <c>AudioSocket()</c> application (kind 0x10, its only rate), 16000 when the route dials
    /// <c>AudioSocket/host:port/uuid/c(slin16)</c> (kind 0x12). It comes with the session, not from the caller's first
    /// frame: a silent caller sends none, and Asterisk ends an AudioSocket with no activity after 2 s.</summary>
    public int CallerSampleRate { get; init; } = 8000;

    /// <summary>How audio crosses the gateway WebSocket.</summary>
    public MediaMode MediaMode { get; init; } = MediaMode.AstraPbxBinary;

    /// <summary>The organisation id (handshake <c>start.accountSid</c> and <c>customParameters.org_id</c>).</summary>
    public string OrgId { get; init; } = "";

    /// <summary>Caller id number (handshake <c>start.from</c>).</summary>
    public string CallerNumber { get; init; } = "";

    /// <summary>The dialled extension (handshake <c>start.to</c>).</summary>
    public string Extension { get; init; } = "";

    /// <summary>The channel name (handshake <c>customParameters.endpoint</c>).</summary>
    public string ChannelName { get; init; } = "";

    /// <summary>Call variables passed to the bot as handshake <c>customParameters</c>.</summary>
    public IReadOnlyDictionary<string, string> CustomParameters { get; init; } = new Dictionary<string, string>();
}
