using AstraPbx.Contracts.Calls;
using AstraPbx.Contracts.Media;

namespace AstraPbx.Routing.Resolution;

/// <summary>What a call becomes, as the resolver decided it from the database.</summary>
public sealed record RouteDecision
{
    /// <summary>AI agent, dialplan, the configured fallback, or hangup.</summary>
    public required RouteOutcome Outcome { get; init; }

    /// <summary>The destinations followed, e.g. <c>["queue:5001", "extension:1003", "ai_agent:3"]</c>.</summary>
    public required IReadOnlyList<string> Path { get; init; }

    /// <summary><c>ok</c>, or the specific reason for a fallback or hangup.</summary>
    public string Reason { get; init; } = Reasons.Ok;

    /// <summary>For <see cref="RouteOutcome.AiAgent"/>: the gateway URL, with its key. Never logged as is.</summary>
    public string? GatewayUrl { get; init; }

    /// <summary>For <see cref="RouteOutcome.AiAgent"/>: how audio crosses the gateway WebSocket.</summary>
    public MediaMode MediaMode { get; init; }

    /// <summary>For <see cref="RouteOutcome.AiAgent"/>: the rate of the route's audio (<c>users.ai_sample_rate</c>,
    /// <c>StartAiSession.CallerSampleRate</c>): 8000 runs the 8 kHz <c>AudioSocket()</c> context, 16000 the wideband
    /// <c>Dial(AudioSocket/.../c(slin16))</c> one.</summary>
    public int CallerSampleRate { get; init; } = 8000;

    /// <summary>For <see cref="RouteOutcome.AiAgent"/>: the AI agent's user id.</summary>
    public int? AgentUserId { get; init; }

    /// <summary>The organisation the route ended in, when known.</summary>
    public int? OrganizationId { get; init; }

    /// <summary>For <see cref="RouteOutcome.Dialplan"/> and <see cref="RouteOutcome.Fallback"/>: where to continue.</summary>
    public string? Context { get; init; }

    /// <summary>The extension to continue at.</summary>
    public string? Extension { get; init; }

    /// <summary>The priority to continue at.</summary>
    public int Priority { get; init; } = 1;

    /// <summary>Human-readable destination without secrets: <c>context,exten,prio</c> or the redacted gateway URL.</summary>
    public string Destination => Outcome switch
    {
        RouteOutcome.AiAgent => ServiceDefaults.Telemetry.SecretRedactor.RedactUrl(GatewayUrl),
        RouteOutcome.Dialplan or RouteOutcome.Fallback => $"{Context},{Extension},{Priority}",
        _ => "hangup",
    };
}
