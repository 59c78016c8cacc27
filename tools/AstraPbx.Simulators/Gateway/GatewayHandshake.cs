using System.Text.Json;
using AstraPbx.Contracts.Media;
using static AstraPbx.Simulators.Gateway.GatewayJson;

namespace AstraPbx.Simulators.Gateway;

/// <summary>The checks of the relay's two handshake frames, <c>connected</c> then <c>start</c> (PROTOCOLS.md 2).</summary>
internal static class GatewayHandshake
{
    /// <summary>Checks the <c>connected</c> frame; returns the error, or null when valid.</summary>
    public static string? ValidateConnected(JsonElement root)
    {
        if (Str(root, "event") != "connected")
        {
            return $"first frame event is '{Str(root, "event")}', expected 'connected'";
        }

        return Str(root, "protocol") != "Call" || Str(root, "version") != "1.0.0"
            ? "connected: protocol must be 'Call' and version '1.0.0'"
            : null;
    }

    /// <summary>Checks the <c>start</c> frame; returns the error, or null when valid. <paramref name="into"/> gets the
    /// values as far as the checks got, so a refused handshake still shows what the relay sent. <paramref name="seedOnly"/>:
    /// require only the fields the seed document's handshake carries (no <c>from</c>/<c>to</c>/<c>direction</c>, no
    /// <c>org_id</c>/<c>endpoint</c> parameters), see <see cref="FakeGatewayOptions.AcceptSeedHandshake"/>.</summary>
    public static string? ValidateStart(JsonElement root, StartFrame into, bool seedOnly = false)
    {
        if (Str(root, "event") != "start")
        {
            return $"second frame event is '{Str(root, "event")}', expected 'start'";
        }

        if (!root.TryGetProperty("start", out var start) || start.ValueKind != JsonValueKind.Object)
        {
            return "start: missing 'start' object";
        }

        into.CallSid = Str(start, "callSid");
        into.StreamSid = Str(start, "streamSid");
        if (string.IsNullOrEmpty(into.CallSid))
        {
            return "start.callSid missing";
        }

        if (into.StreamSid != "asterisk_" + into.CallSid)
        {
            return "start.streamSid must be 'asterisk_<callSid>'";
        }

        var accountSid = Str(start, "accountSid");
        if (string.IsNullOrEmpty(accountSid))
        {
            return "start.accountSid missing";
        }

        if (!seedOnly && (Str(start, "from") is null || Str(start, "to") is null))
        {
            return "start.from/start.to missing";
        }

        if (!seedOnly && Str(start, "direction") != "inbound")
        {
            return "start.direction must be 'inbound'";
        }

        if (!start.TryGetProperty("mediaFormat", out var format) || Str(format, "encoding") != "audio/x-mulaw"
            || !IntIs(format, "sampleRate", 8000) || !IntIs(format, "channels", 1))
        {
            return "start.mediaFormat must be audio/x-mulaw, 8000 Hz, 1 channel";
        }

        if (!start.TryGetProperty("customParameters", out var custom) || custom.ValueKind != JsonValueKind.Object)
        {
            return "start.customParameters missing";
        }

        var parameters = new Dictionary<string, string>();
        foreach (var property in custom.EnumerateObject())
        {
            if (property.Value.ValueKind != JsonValueKind.String)
            {
                return $"start.customParameters.{property.Name} is not a string";
            }

            parameters[property.Name] = property.Value.GetString()!;
        }

        into.CustomParameters = parameters;
        if (!parameters.TryGetValue("provider", out var provider) || provider.Length == 0)
        {
            return "start.customParameters.provider missing";
        }

        if (!seedOnly && (!parameters.TryGetValue("org_id", out var orgId) || orgId != accountSid))
        {
            return "start.customParameters.org_id must equal start.accountSid";
        }

        if (!parameters.TryGetValue("channel_id", out var channelId) || channelId != into.CallSid)
        {
            return "start.customParameters.channel_id must equal start.callSid";
        }

        if (!seedOnly && !parameters.ContainsKey("endpoint"))
        {
            return "start.customParameters.endpoint missing";
        }

        into.Mode = provider == "astrapbx" ? MediaMode.AstraPbxBinary : MediaMode.Twilio;
        return null;
    }
}
