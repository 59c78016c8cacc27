using System.Net.WebSockets;

namespace AstraPbx.MediaRelay.Gateway;

/// <summary>The <c>astrapbx</c> binary mode: audio both ways as binary messages of raw 16-bit little-endian PCM at the
/// caller's rate (8 or 16 kHz, <see cref="GatewayMediaCodec.GatewayRate"/>), passed through without a copy; control
/// events stay JSON text (see <see cref="GatewayMediaCodec"/>).</summary>
internal sealed class BinaryMediaCodec(string streamSid, GatewayLimits limits) : GatewayMediaCodec(streamSid, limits)
{
    public override WebSocketMessageType AudioMessageType => WebSocketMessageType.Binary;

    public override ReadOnlyMemory<byte> EncodeAudio(ReadOnlyMemory<byte> pcm) => pcm;

    /// <summary>Bot audio; a binary message may arrive in parts, each is PCM as it stands. A part of odd length ends
    /// mid-sample: the <see cref="Media.JitterBuffer"/> carries the odd byte over to the next part.</summary>
    public override GatewayMessage DecodeBinary(ReadOnlySpan<byte> message) => GatewayMessage.Media(message);
}
