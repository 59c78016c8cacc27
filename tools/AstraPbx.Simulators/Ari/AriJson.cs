using System.Globalization;
using System.Text;
using System.Text.Json;
using AstraPbx.Simulators.Hosting;
using Microsoft.AspNetCore.Http;

namespace AstraPbx.Simulators.Ari;

/// <summary>The JSON shapes the simulator answers and emits, as recorded from a real Asterisk (shared/ari-samples).</summary>
internal static class AriJson
{
    /// <summary>A channel object as ARI writes it (its fields, without the enclosing braces).</summary>
    public static void WriteChannel(Utf8JsonWriter w, SimulatedCall call)
    {
        w.WriteString("id", call.ChannelId);
        w.WriteString("name", call.Name);
        w.WriteString("state", call.State);
        w.WriteString("protocol_id", "");
        foreach (var party in new[] { "caller", "connected" })
        {
            w.WriteStartObject(party);
            w.WriteString("name", call.Options.CallerName);
            w.WriteString("number", call.Options.CallerNumber);
            w.WriteEndObject();
        }

        w.WriteString("accountcode", "");
        w.WriteStartObject("dialplan");
        w.WriteString("context", call.Context);
        w.WriteString("exten", call.Extension);
        w.WriteNumber("priority", call.Priority);
        w.WriteString("app_name", call.AppName);
        w.WriteString("app_data", call.AppData);
        w.WriteEndObject();
        w.WriteString("creationtime", call.CreationTime);
        w.WriteString("language", "en");
        if (call.Options.IncludeChannelVars)
        {
            w.WriteStartObject("channelvars");
            foreach (var (name, value) in call.Options.Variables)
            {
                w.WriteString(name, value);
            }

            w.WriteEndObject();
        }
    }

    /// <summary>A 200 answer with the JSON object <paramref name="body"/> writes.</summary>
    public static IResult Json(Action<Utf8JsonWriter> body) =>
        Results.Bytes(SimulatorJson.Object(body, 512).WrittenSpan.ToArray(), "application/json");

    /// <summary>An ARI error answer: <c>{"message": ...}</c> with <paramref name="status"/>.</summary>
    public static IResult Error(int status, string message) =>
        Results.Text("{\"message\":" + JsonSerializer.Serialize(message) + "}", "application/json", Encoding.UTF8, status);

    public static IResult ChannelNotFound() => Error(404, "Channel not found");

    /// <summary>Asterisk's event time format: <c>2026-11-23T21:22:36.620+0000</c>.</summary>
    public static string Timestamp(DateTimeOffset at) =>
        at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'+0000'", CultureInfo.InvariantCulture);
}
