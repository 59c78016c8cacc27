using System.Text;
using System.Text.Json;
using AstraPbx.Simulators.Hosting;

namespace AstraPbx.Simulators.Gateway;

/// <summary>The gateway side's JSON: reading what the relay sends and writing Twilio <c>media</c> and control events.</summary>
internal static class GatewayJson
{
    /// <summary>True when <paramref name="json"/> is a Twilio <c>media</c> event; its base64 payload.</summary>
    public static bool TryReadMediaPayload(ReadOnlySpan<byte> json, out string payload)
    {
        payload = "";
        try
        {
            using var document = JsonDocument.Parse(json.ToArray());
            var root = document.RootElement;
            if (Str(root, "event") != "media" || !root.TryGetProperty("media", out var media))
            {
                return false;
            }

            payload = Str(media, "payload") ?? "";
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    public static int Base64DecodedLength(string base64)
    {
        var padding = base64.EndsWith("==", StringComparison.Ordinal) ? 2 : base64.EndsWith('=') ? 1 : 0;
        return base64.Length / 4 * 3 - padding;
    }

    /// <summary>A Twilio <c>media</c> event carrying <paramref name="payload"/> (base64 mu-law).</summary>
    public static string MediaJson(string? streamSid, string payload) => Write(w =>
    {
        w.WriteString("event", "media");
        w.WriteString("streamSid", streamSid);
        w.WriteStartObject("media");
        w.WriteString("payload", payload);
        w.WriteEndObject();
    });

    /// <summary>A control event: <c>{"event":..., "streamSid":..., ...}</c>.</summary>
    public static string Control(string eventName, string? streamSid, Action<Utf8JsonWriter>? body = null) => Write(w =>
    {
        w.WriteString("event", eventName);
        w.WriteString("streamSid", streamSid);
        body?.Invoke(w);
    });

    private static string Write(Action<Utf8JsonWriter> body) => Encoding.UTF8.GetString(SimulatorJson.Object(body).WrittenSpan);

    /// <summary>The parsed document, or null when <paramref name="json"/> is not JSON.</summary>
    public static JsonDocument? TryParse(ReadOnlyMemory<byte> json)
    {
        try
        {
            return JsonDocument.Parse(json.ToArray());
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A string property of an object; null when absent or not a string.</summary>
    public static string? Str(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    /// <summary>True when an object's property is the number <paramref name="expected"/>.</summary>
    public static bool IntIs(JsonElement element, string name, int expected) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value)
        && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var actual) && actual == expected;
}
