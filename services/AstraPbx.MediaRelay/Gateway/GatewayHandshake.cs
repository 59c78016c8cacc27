using System.Buffers;
using System.Text.Json;
using AstraPbx.Contracts.Media;

namespace AstraPbx.MediaRelay.Gateway;

/// <summary>The two text frames the relay sends first (PROTOCOLS.md 2), which Pipecat's
/// <c>parse_telephony_websocket</c> reads as "twilio" because <c>start.streamSid</c> and <c>start.callSid</c> are present.
/// <c>customParameters.provider</c> tells the bot the media mode: <c>astrapbx</c> (binary PCM) or <c>twilio</c>.</summary>
public static class GatewayHandshake
{
    /// <summary><c>{"event":"connected","protocol":"Call","version":"1.0.0"}</c>.</summary>
    public static byte[] Connected() => """{"event":"connected","protocol":"Call","version":"1.0.0"}"""u8.ToArray();

    /// <summary>The stream id the relay uses for a call: <c>asterisk_&lt;channelId&gt;</c>.</summary>
    public static string StreamSid(string callId) => "asterisk_" + callId;

    /// <summary>The <c>start</c> event; the call's custom variables go into <c>customParameters</c> after the relay's
    /// own keys (<c>provider</c>, <c>org_id</c>, <c>channel_id</c>, <c>endpoint</c>, <c>from_number</c>,
    /// <c>to_number</c>), which they cannot override. <c>from_number</c>/<c>to_number</c> repeat <c>start.from</c>/
    /// <c>start.to</c> under the keys Pipecat's runner reads (<c>parse_telephony_websocket</c>'s call data).
    /// <c>mediaFormat</c> says what the media frames carry (<see cref="MediaFormat"/>).</summary>
    public static byte[] Start(StartAiSession message)
    {
        // Straight into one buffer that fits a usual start event (about 600 bytes): through a MemoryStream the writer's own
        // buffer and the stream's both grew from 256 bytes, several arrays per session set up.
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("event", "start");
            json.WriteStartObject("start");
            json.WriteString("streamSid", StreamSid(message.CallId));
            json.WriteString("callSid", message.CallId);
            json.WriteString("accountSid", message.OrgId);
            json.WriteString("from", message.CallerNumber);
            json.WriteString("to", message.Extension);
            json.WriteString("direction", "inbound");
            var (encoding, sampleRate) = MediaFormat(message);
            json.WriteStartObject("mediaFormat");
            json.WriteString("encoding", encoding);
            json.WriteNumber("sampleRate", sampleRate);
            json.WriteNumber("channels", 1);
            json.WriteEndObject();
            json.WriteStartObject("customParameters");
            json.WriteString("provider", message.MediaMode == MediaMode.Twilio ? "twilio" : "astrapbx");
            json.WriteString("org_id", message.OrgId);
            json.WriteString("channel_id", message.CallId);
            json.WriteString("endpoint", message.ChannelName);
            json.WriteString("from_number", message.CallerNumber);
            json.WriteString("to_number", message.Extension);
            foreach (var (key, value) in message.CustomParameters)
            {
                if (key is not ("provider" or "org_id" or "channel_id" or "endpoint" or "from_number" or "to_number"))
                {
                    json.WriteString(key, value);
                }
            }

            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>What the media frames after the handshake carry. Binary mode: <c>audio/x-l16</c>, raw 16-bit signed
    /// little-endian PCM as the AudioSocket carries it (the <c>x-</c> because RFC 2586's <c>audio/L16</c> is big-endian),
    /// at the caller's rate, 8000 or 16000, which the relay passes through to the bot. Twilio mode: G.711 mu-law at 8000, as Twilio Media Streams define it, whatever
    /// the caller's rate.</summary>
    public static (string Encoding, int SampleRate) MediaFormat(StartAiSession message) =>
        message.MediaMode == MediaMode.Twilio ? ("audio/x-mulaw", 8000) : ("audio/x-l16", message.CallerSampleRate);
}
