using MassTransit;

namespace AstraPbx.Contracts.Media;

/// <summary>Response to <see cref="StartAiSession"/>: no session was prepared.</summary>
[MessageUrn("astrapbx:media:ai-session-failed:v1")]
public sealed record AiSessionFailed
{
    /// <summary>The Asterisk channel id.</summary>
    public required string CallId { get; init; }

    /// <summary>The Asterisk server's entity id.</summary>
    public required string AsteriskId { get; init; }

    /// <summary>The AudioSocket session UUID that was asked for.</summary>
    public required Guid SessionId { get; init; }

    /// <summary>The specific reason.</summary>
    public required AiSessionFailure Reason { get; init; }

    /// <summary>A human-readable detail; never carries the gateway URL's query string.</summary>
    public string Detail { get; init; } = "";

    /// <summary>The relay instance that answered.</summary>
    public string RelayInstance { get; init; } = "";
}
