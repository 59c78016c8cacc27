using System.Text.Json.Serialization;

namespace AstraPbx.AriIngress.Ari;

// The ARI JSON shapes this ingress reads, as recorded from a real Asterisk (shared/ari-samples) and the ARI docs.
// Names are snake_case on the wire; every property is optional so a field Asterisk leaves out never fails a parse.

/// <summary>One event from <c>/ari/events</c>. A single flat shape for every type: the fields a type does not use
/// stay null, and an unknown type still parses (it is then skipped by name).</summary>
public sealed class AriEvent
{
    /// <summary><c>StasisStart</c>, <c>StasisEnd</c>, <c>ChannelHangupRequest</c>, <c>ChannelDestroyed</c>, ...</summary>
    public string? Type { get; set; }

    /// <summary>Asterisk's time, e.g. <c>2026-11-23T21:22:36.620+0000</c> (kept as text: the offset has no colon).</summary>
    public string? Timestamp { get; set; }

    /// <summary>The server's entity id.</summary>
    public string? AsteriskId { get; set; }

    public string? Application { get; set; }

    public AriChannel? Channel { get; set; }

    /// <summary><c>StasisStart</c>: the arguments after the application name.</summary>
    public List<string>? Args { get; set; }

    /// <summary><c>ChannelHangupRequest</c> / <c>ChannelDestroyed</c>: the Q.850 cause.</summary>
    public int? Cause { get; set; }

    /// <summary><c>ChannelDestroyed</c>: the cause's text.</summary>
    public string? CauseTxt { get; set; }

    /// <summary><c>ChannelHangupRequest</c>: a soft hangup request.</summary>
    public bool? Soft { get; set; }

    /// <summary><c>ChannelVarset</c>.</summary>
    public string? Variable { get; set; }

    /// <summary><c>ChannelVarset</c>.</summary>
    public string? Value { get; set; }

    /// <summary><c>ChannelDialplan</c>.</summary>
    public string? DialplanApp { get; set; }

    /// <summary><c>ChannelDialplan</c>.</summary>
    public string? DialplanAppData { get; set; }

    /// <summary><c>ChannelDtmfReceived</c>.</summary>
    public string? Digit { get; set; }

    /// <summary><c>ChannelDtmfReceived</c>.</summary>
    public int? DurationMs { get; set; }
}

/// <summary>An ARI <c>Channel</c>.</summary>
public sealed class AriChannel
{
    public string? Id { get; set; }

    public string? Name { get; set; }

    /// <summary><c>Down</c>, <c>Ring</c>, <c>Up</c>, ...</summary>
    public string? State { get; set; }

    public string? ProtocolId { get; set; }

    public AriCallerId? Caller { get; set; }

    public AriCallerId? Connected { get; set; }

    [JsonPropertyName("accountcode")]
    public string? AccountCode { get; set; }

    public AriDialplan? Dialplan { get; set; }

    [JsonPropertyName("creationtime")]
    public string? CreationTime { get; set; }

    public string? Language { get; set; }

    /// <summary>Present only when <c>ari.conf</c> lists <c>channelvars</c>.</summary>
    [JsonPropertyName("channelvars")]
    public Dictionary<string, string?>? ChannelVars { get; set; }
}

/// <summary>An ARI <c>CallerID</c>.</summary>
public sealed class AriCallerId
{
    public string? Name { get; set; }

    public string? Number { get; set; }
}

/// <summary>An ARI <c>DialplanCEP</c> (context, extension, priority) plus the running application.</summary>
public sealed class AriDialplan
{
    public string? Context { get; set; }

    public string? Exten { get; set; }

    public long Priority { get; set; }

    public string? AppName { get; set; }

    public string? AppData { get; set; }
}

/// <summary>An ARI <c>Application</c>: <c>channel_ids</c> are the channels it is subscribed to (those in Stasis
/// and those subscribed explicitly), the resync source.</summary>
public sealed class AriApplication
{
    public string? Name { get; set; }

    public List<string>? ChannelIds { get; set; }

    public List<string>? BridgeIds { get; set; }

    public List<string>? EndpointIds { get; set; }

    public List<string>? DeviceNames { get; set; }
}

/// <summary>The body of <c>GET /channels/{id}/variable</c>.</summary>
public sealed class AriVariable
{
    public string? Value { get; set; }
}

/// <summary>An ARI error body, e.g. <c>{"message":"Channel not in Stasis application"}</c>.</summary>
public sealed class AriError
{
    public string? Message { get; set; }
}

/// <summary><c>GET /asterisk/info</c>; only <c>system</c> is read.</summary>
public sealed class AsteriskInfo
{
    public AsteriskSystemInfo? System { get; set; }
}

/// <summary><c>AsteriskInfo.system</c>.</summary>
public sealed class AsteriskSystemInfo
{
    public string? Version { get; set; }

    /// <summary>The server's entity id, the same value as every event's <c>asterisk_id</c>.</summary>
    public string? EntityId { get; set; }
}

/// <summary>Source-generated (de)serialisation of the ARI shapes.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AriEvent))]
[JsonSerializable(typeof(AriChannel))]
[JsonSerializable(typeof(AriApplication))]
[JsonSerializable(typeof(AriVariable))]
[JsonSerializable(typeof(AriError))]
[JsonSerializable(typeof(AsteriskInfo))]
public sealed partial class AriJsonContext : JsonSerializerContext;
