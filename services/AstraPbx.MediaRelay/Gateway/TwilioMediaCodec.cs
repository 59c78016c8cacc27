using System.Buffers.Text;
using System.Net.WebSockets;
using System.Text.Json;
using AstraPbx.Audio.Codecs;

namespace AstraPbx.MediaRelay.Gateway;

/// <summary>Twilio Media Streams: caller audio goes out as <c>media</c> JSON with base64 G.711 mu-law at 8 kHz, built in
/// place in one buffer per session; binary messages from the gateway are ignored.</summary>
internal sealed class TwilioMediaCodec : GatewayMediaCodec
{
    private static readonly byte[] MediaPrefix = "{\"event\":\"media\",\"streamSid\":\""u8.ToArray();
    private static readonly byte[] MediaMiddle = "\",\"media\":{\"payload\":\""u8.ToArray();
    private static readonly byte[] MediaSuffix = "\"}}"u8.ToArray();

    private readonly byte[] _streamSidJson;
    private readonly byte[] _ulaw;
    private readonly byte[] _mediaJson;

    public TwilioMediaCodec(string streamSid, int maxPcmLength, GatewayLimits limits)
        : base(streamSid, limits)
    {
        _streamSidJson = JsonEncodedText.Encode(streamSid).EncodedUtf8Bytes.ToArray();
        _ulaw = new byte[maxPcmLength / 2];
        _mediaJson = new byte[MediaPrefix.Length + _streamSidJson.Length + MediaMiddle.Length + Base64.GetMaxEncodedToUtf8Length(_ulaw.Length) + MediaSuffix.Length];
    }

    public override WebSocketMessageType AudioMessageType => WebSocketMessageType.Text;

    /// <summary><c>{"event":"media","streamSid":"...","media":{"payload":"&lt;base64 mu-law&gt;"}}</c>, built in place.</summary>
    public override ReadOnlyMemory<byte> EncodeAudio(ReadOnlyMemory<byte> pcm)
    {
        var samples = pcm.Length / 2;
        MuLaw.EncodePcm16(pcm.Span, _ulaw);
        var json = _mediaJson.AsSpan();
        var at = 0;
        MediaPrefix.CopyTo(json);
        at += MediaPrefix.Length;
        _streamSidJson.CopyTo(json[at..]);
        at += _streamSidJson.Length;
        MediaMiddle.CopyTo(json[at..]);
        at += MediaMiddle.Length;
        Base64.EncodeToUtf8(_ulaw.AsSpan(0, samples), json[at..], out _, out var written);
        at += written;
        MediaSuffix.CopyTo(json[at..]);
        at += MediaSuffix.Length;
        return _mediaJson.AsMemory(0, at);
    }

    public override GatewayMessage DecodeBinary(ReadOnlySpan<byte> message) => GatewayMessage.Of(GatewayEventKind.Other);
}
