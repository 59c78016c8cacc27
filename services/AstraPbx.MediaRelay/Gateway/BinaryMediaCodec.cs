using System.Net.WebSockets;

namespace AstraPbx.MediaRelay.Gateway;

/// <summary>The <c>astrapbx</c> binary mode: audio both ways as binary messages of raw 16-bit little-endian PCM at
/// 8 kHz, passed through without a copy; control events stay JSON text (see <see cref="GatewayMediaCodec"/>).</summary>
internal sealed class BinaryMediaCodec(string streamSid) : GatewayMediaCodec(streamSid)
{
    public override WebSocketMessageType AudioMessageType => WebSocketMessageType.Binary;

    public override ReadOnlyMemory<byte> EncodeAudio(ReadOnlyMemory<byte> pcm) => pcm;

    /// <summary>Bot audio; a binary message may arrive in parts, each is PCM as it stands.</summary>
    public override GatewayMessage DecodeBinary(ReadOnlySpan<byte> message) => GatewayMessage.Media(message);
}
