using MassTransit;

namespace AstraPbx.Contracts.Calls;

/// <summary>Command, sent by Routing to the call's own AriIngress: set <c>AUDIOSOCKET_UUID</c> and
/// <c>AUDIOSOCKET_SERVICE</c>, subscribe to the channel, and continue it to <c>audiosocket-ai,s,1</c>.</summary>
[MessageUrn("astrapbx:calls:connect-to-relay:v1")]
public sealed record ConnectToRelay
{
    /// <summary>The Asterisk channel id.</summary>
    public required string CallId { get; init; }

    /// <summary>The Asterisk server's entity id; the command is sent to that server's ingress queue.</summary>
    public required string AsteriskId { get; init; }

    /// <summary>The AudioSocket session UUID the relay prepared (becomes <c>AUDIOSOCKET_UUID</c>).</summary>
    public required Guid SessionId { get; init; }

    /// <summary>The <c>host:port</c> Asterisk must dial (becomes <c>AUDIOSOCKET_SERVICE</c>).</summary>
    public required string RelayEndpoint { get; init; }

    /// <summary>The dialplan context that runs AudioSocket; <c>audiosocket-ai</c> unless configured otherwise.</summary>
    public string Context { get; init; } = "audiosocket-ai";
    /// <summary>The Stasis entry this command answers (<see cref="CallEnteredStasis.EnteredAt"/>). The ingress ignores,
    /// and logs, a command for an entry that is not the channel's current one or that was already handled (for example
    /// by the edge fallback). Null: no check.</summary>
    public DateTimeOffset? EnteredAt { get; init; }
}
