using MassTransit;

namespace AstraPbx.Contracts.Calls;

/// <summary>
/// Event, published by AriIngress once a channel entered <c>Stasis(astrapbx,...)</c> and has been answered.
/// The call's root span is the parent of this message's trace context.
/// </summary>
[MessageUrn("astrapbx:calls:call-entered-stasis:v1")]
public sealed record CallEnteredStasis
{
    /// <summary>The Asterisk channel id (ARI <c>channel.id</c>); the call's identity on the bus.</summary>
    public required string CallId { get; init; }

    /// <summary>The Asterisk server's entity id (ARI <c>asterisk_id</c>); commands for this call go to that server's ingress.</summary>
    public required string AsteriskId { get; init; }

    /// <summary>The channel name, e.g. <c>PJSIP/1001-00000001</c>.</summary>
    public string ChannelName { get; init; } = "";

    /// <summary>The arguments of <c>Stasis(app,arg1,arg2,...)</c> after the app name, as Asterisk passed them
    /// (e.g. <c>["ai_agent","3"]</c> or <c>["queue_timeout","1"]</c>). Routing judges them.</summary>
    public IReadOnlyList<string> StasisArgs { get; init; } = [];

    /// <summary>Caller id number (ARI <c>channel.caller.number</c>); empty when withheld.</summary>
    public string CallerNumber { get; init; } = "";

    /// <summary>Caller id name (ARI <c>channel.caller.name</c>).</summary>
    public string CallerName { get; init; } = "";

    /// <summary>The dialled extension (ARI <c>channel.dialplan.exten</c>).</summary>
    public string Extension { get; init; } = "";

    /// <summary>The dialplan context the channel was in (ARI <c>channel.dialplan.context</c>).</summary>
    public string Context { get; init; } = "";

    /// <summary>The organisation id read from the channel variable <c>ORG_ID</c>; empty when unset.</summary>
    public string OrgId { get; init; } = "";

    /// <summary>Channel variables the bot should see (passed on as the handshake's <c>customParameters</c>).
    /// Never holds secrets.</summary>
    public IReadOnlyDictionary<string, string> Variables { get; init; } = new Dictionary<string, string>();

    /// <summary>When AriIngress received <c>StasisStart</c> (UTC).</summary>
    public DateTimeOffset EnteredAt { get; init; }

    /// <summary>When the ingress's answer request returned (UTC); null when the answer failed.</summary>
    public DateTimeOffset? AnsweredAt { get; init; }

    /// <summary>The ingress's edge deadline (UTC): if no command for this entry has reached the ingress by then, it
    /// continues the call to its own static fallback (or hangs up) and publishes <see cref="FallbackTaken"/>. Routing
    /// starts no work it cannot finish by then. Null when the ingress has no edge fallback.</summary>
    public DateTimeOffset? DecideBy { get; init; }
}
