using System.Buffers;
using System.Buffers.Text;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using AstraPbx.Audio.Codecs;
using AstraPbx.Contracts.Media;

namespace AstraPbx.MediaRelay.Gateway;

/// <summary>The gateway's media protocol for one session (PROTOCOLS.md 2), pure: no socket, only bytes in and out. Caller
/// audio goes out in the mode's form (<see cref="TwilioMediaCodec"/>, <see cref="BinaryMediaCodec"/>); the control
/// events are Twilio Media Streams JSON in both modes (<c>dtmf</c>, <c>mark</c>, <c>stop</c> out; <c>media</c>,
/// <c>clear</c>, <c>mark</c>, <c>stop</c> in; the seed's gateways send <c>stop</c> in binary mode too).</summary>
/// <param name="streamSid">The <c>streamSid</c> every JSON message of the session carries.</param>
/// <param name="limits">The bounds on text messages; one broken throws <see cref="GatewayViolationException"/>.</param>
internal abstract class GatewayMediaCodec(string streamSid, GatewayLimits limits)
{
    /// <summary>How caller audio goes out: binary PCM or text JSON.</summary>
    public abstract WebSocketMessageType AudioMessageType { get; }

    /// <summary>The codec for a session's media mode; <paramref name="maxPcmLength"/> is the largest caller frame it is
    /// given (its buffers are sized once, here); <paramref name="limits"/> defaults to the settings' defaults.</summary>
    public static GatewayMediaCodec Create(MediaMode mode, string streamSid, int maxPcmLength, GatewayLimits? limits = null) =>
        mode == MediaMode.AstraPbxBinary
            ? new BinaryMediaCodec(streamSid, limits ?? GatewayLimits.Default)
            : new TwilioMediaCodec(streamSid, maxPcmLength, limits ?? GatewayLimits.Default);

    /// <summary>The PCM rate between the relay and the gateway for a session, in Hz (PROTOCOLS.md 2): the binary mode
    /// carries the caller's own rate (8000, or 16000 for a wideband route), so caller audio passes through bit-exact
    /// both ways; Twilio mode is 8 kHz mu-law whatever the caller's rate, as Twilio defines it (a 16 kHz caller is
    /// resampled).</summary>
    public static int GatewayRate(MediaMode mode, int callerSampleRate) =>
        mode == MediaMode.AstraPbxBinary ? callerSampleRate : 8000;

    /// <summary>The size of the PCM buffer <see cref="DecodeText"/> needs for a message of this many bytes: a base64
    /// mu-law payload can be no longer than the message, and each mu-law byte becomes two PCM bytes.</summary>
    public static int MaxPcmLength(int messageLength) => Base64.GetMaxDecodedFromUtf8Length(messageLength) * 2;

    /// <summary>Caller audio (16-bit little-endian PCM at the session's <see cref="GatewayRate"/>) as the message to send.
    /// The result is the input or the codec's own buffer, valid until the next call: the caller leg sends one frame at a
    /// time.</summary>
    public abstract ReadOnlyMemory<byte> EncodeAudio(ReadOnlyMemory<byte> pcm);

    /// <summary>A binary message (or a part of one) from the gateway.</summary>
    public abstract GatewayMessage DecodeBinary(ReadOnlySpan<byte> message);

    /// <summary><c>{"event":"dtmf","streamSid":"...","dtmf":{"digit":"7"}}</c>.</summary>
    public byte[] EncodeDtmf(char digit) => Event("dtmf", "dtmf", "digit", digit.ToString());

    /// <summary><c>{"event":"mark","streamSid":"...","mark":{"name":"..."}}</c>: the mark's audio has played.</summary>
    public byte[] EncodeMark(string name) => Event("mark", "mark", "name", name);

    /// <summary><c>{"event":"stop","streamSid":"..."}</c>: the call ended on the relay's side.</summary>
    public byte[] EncodeStop() => Event("stop");

    /// <summary>A whole text message from the gateway. A <c>media</c> payload (base64 mu-law) is decoded into
    /// <paramref name="pcm"/>, which must hold <see cref="MaxPcmLength"/> of the message's length. A message over a bound
    /// (length, depth, mark name) throws <see cref="GatewayViolationException"/>: the session fails, it is not skipped.</summary>
    public GatewayMessage DecodeText(ReadOnlySpan<byte> message, Span<byte> pcm)
    {
        if (message.Length > limits.MaxTextMessageBytes)
        {
            throw new GatewayViolationException(GatewayViolation.TextMessageTooLarge);
        }

        try
        {
            return ParseText(message, pcm);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            return GatewayMessage.Of(GatewayEventKind.Unparseable);
        }
    }

    private GatewayMessage ParseText(ReadOnlySpan<byte> message, Span<byte> pcm)
    {
        // One over the bound, so the check below names the violation before the reader throws a plain JsonException.
        var reader = new Utf8JsonReader(message, new JsonReaderOptions { MaxDepth = limits.MaxJsonDepth + 1 });
        var kind = GatewayEventKind.Other;
        string? mark = null;
        ReadOnlySpan<byte> payload = default;
        var section = 0; // 1 = inside "media", 2 = inside "mark"
        while (reader.Read())
        {
            if ((reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray) && reader.CurrentDepth >= limits.MaxJsonDepth)
            {
                throw new GatewayViolationException(GatewayViolation.JsonTooDeep);
            }

            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }

            if (reader.CurrentDepth == 1)
            {
                section = reader.ValueTextEquals("media"u8) ? 1 : reader.ValueTextEquals("mark"u8) ? 2 : 0;
                if (reader.ValueTextEquals("event"u8))
                {
                    reader.Read();
                    kind = reader.ValueTextEquals("media"u8) ? GatewayEventKind.Media
                        : reader.ValueTextEquals("clear"u8) ? GatewayEventKind.Clear
                        : reader.ValueTextEquals("mark"u8) ? GatewayEventKind.Mark
                        : reader.ValueTextEquals("stop"u8) ? GatewayEventKind.Stop
                        : GatewayEventKind.Other;
                }
            }
            else if (reader.CurrentDepth == 2 && section == 1 && reader.ValueTextEquals("payload"u8))
            {
                reader.Read();
                payload = reader.ValueIsEscaped ? Encoding.UTF8.GetBytes(reader.GetString() ?? "") : reader.ValueSpan;
            }
            else if (reader.CurrentDepth == 2 && section == 2 && reader.ValueTextEquals("name"u8))
            {
                reader.Read();
                mark = MarkName(ref reader);
            }
        }

        return kind switch
        {
            GatewayEventKind.Media => GatewayMessage.Media(payload.IsEmpty ? default : DecodeMedia(payload, pcm)),
            GatewayEventKind.Mark => GatewayMessage.Mark(mark),
            _ => GatewayMessage.Of(kind),
        };
    }

    /// <summary>The mark's name, no longer than the bound in UTF-8 bytes. An escape takes at least as many bytes as
    /// the character it stands for, so an unescaped name within the bound is checked without decoding it.</summary>
    private string? MarkName(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            return reader.GetString();
        }

        if (reader.ValueSpan.Length > limits.MaxMarkNameBytes
            && (!reader.ValueIsEscaped || reader.ValueSpan.Length > limits.MaxMarkNameBytes * 6))
        {
            throw new GatewayViolationException(GatewayViolation.MarkNameTooLong);
        }

        var name = reader.GetString();
        if (name is not null && reader.ValueIsEscaped && Encoding.UTF8.GetByteCount(name) > limits.MaxMarkNameBytes)
        {
            throw new GatewayViolationException(GatewayViolation.MarkNameTooLong);
        }

        return name;
    }

    /// <summary>base64 mu-law -> mu-law -> PCM16 8 kHz (Twilio mode's rate; a binary-mode bot sends PCM, not this).</summary>
    private static ReadOnlySpan<byte> DecodeMedia(ReadOnlySpan<byte> payload, Span<byte> pcm)
    {
        var ulaw = ArrayPool<byte>.Shared.Rent(Base64.GetMaxDecodedFromUtf8Length(payload.Length));
        try
        {
            if (Base64.DecodeFromUtf8(payload, ulaw, out _, out var samples) != OperationStatus.Done)
            {
                throw new FormatException("media payload is not base64");
            }

            MuLaw.DecodeToPcm16(ulaw.AsSpan(0, samples), pcm[..(samples * 2)]);
            return pcm[..(samples * 2)];
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(ulaw);
        }
    }

    private byte[] Event(string name, string? section = null, string? key = null, string? value = null)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("event", name);
            json.WriteString("streamSid", streamSid);
            if (section is not null)
            {
                json.WriteStartObject(section);
                json.WriteString(key!, value);
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
