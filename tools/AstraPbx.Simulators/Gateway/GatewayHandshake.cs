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

        var formatError = ReadMediaFormat(start, into);
        if (formatError is not null)
        {
            return formatError;
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
        return CheckMediaFormat(into);
    }

    /// <summary>Reads <c>start.mediaFormat</c> into <paramref name="into"/>: the encoding, the rate (8000 when absent)
    /// and the channels (1 when absent, and only 1 is valid).</summary>
    private static string? ReadMediaFormat(JsonElement start, StartFrame into)
    {
        if (!start.TryGetProperty("mediaFormat", out var format) || format.ValueKind != JsonValueKind.Object)
        {
            return "start.mediaFormat missing";
        }

        into.Encoding = Str(format, "encoding");
        if (format.TryGetProperty("sampleRate", out var rate))
        {
            if (rate.ValueKind != JsonValueKind.Number || !rate.TryGetInt32(out var hz))
            {
                return "start.mediaFormat.sampleRate is not an integer";
            }

            into.SampleRate = hz;
        }

        return format.TryGetProperty("channels", out _) && !IntIs(format, "channels", 1)
            ? "start.mediaFormat.channels must be 1"
            : null;
    }

    /// <summary>The format must fit the mode (PROTOCOLS.md 2). Twilio mode: <c>audio/x-mulaw</c> at 8000 Hz. Binary
    /// mode: <c>audio/x-l16</c> at 8000 or 16000 Hz, the PCM the frames carry; or, from a relay that predates issue 14,
    /// <c>audio/x-mulaw</c> at 8000 Hz, which then labelled 8 kHz PCM.</summary>
    private static string? CheckMediaFormat(StartFrame frame) => (frame.Mode, frame.Encoding, frame.SampleRate) switch
    {
        (MediaMode.Twilio, "audio/x-mulaw", 8000) => null,
        (MediaMode.Twilio, _, _) => $"start.mediaFormat must be audio/x-mulaw at 8000 Hz in Twilio mode, not {frame.Encoding} at {frame.SampleRate} Hz",
        (_, "audio/x-l16", 8000 or 16000) or (_, "audio/x-mulaw", 8000) => null,
        _ => $"start.mediaFormat must be audio/x-l16 at 8000 or 16000 Hz in binary mode, not {frame.Encoding} at {frame.SampleRate} Hz",
    };
}
