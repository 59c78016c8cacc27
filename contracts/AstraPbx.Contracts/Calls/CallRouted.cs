using MassTransit;

namespace AstraPbx.Contracts.Calls;

/// <summary>Event, published by Routing once it decided what a call becomes.</summary>
[MessageUrn("astrapbx:calls:call-routed:v1")]
public sealed record CallRouted
{
    /// <summary>The Asterisk channel id.</summary>
    public required string CallId { get; init; }

    /// <summary>The Asterisk server's entity id.</summary>
    public required string AsteriskId { get; init; }

    /// <summary>What the call becomes.</summary>
    public required RouteOutcome Outcome { get; init; }

    /// <summary>The destinations followed, in order, e.g. <c>["queue:5001","extension:1003","ai_agent:3"]</c>.</summary>
    public IReadOnlyList<string> Path { get; init; } = [];

    /// <summary>Why this outcome: <c>ok</c>, or the specific reason a fallback was taken (e.g. <c>loop</c>,
    /// <c>user-inactive</c>, <c>invalid-gateway-url</c>, <c>ai-session-failed:timeout</c>).</summary>
    public string Reason { get; init; } = "ok";

    /// <summary>Where the call goes, human-readable: a dialplan target (<c>context,exten,1</c>) or the gateway URL with its
    /// query string redacted (<c>?key=***</c>). Never carries a secret.</summary>
    public string Destination { get; init; } = "";

    /// <summary>When Routing decided (UTC).</summary>
    public DateTimeOffset RoutedAt { get; init; }
}
