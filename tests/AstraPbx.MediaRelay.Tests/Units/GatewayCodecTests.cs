using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using AstraPbx.Audio.Codecs;
using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay.Gateway;
using CsCheck;
using Xunit;

namespace AstraPbx.MediaRelay.Tests.Units;

/// <summary>The gateway media codecs without a socket: Twilio Media Streams JSON and the binary mode, byte for byte.</summary>
public sealed class GatewayCodecTests
{
    private const string Sid = "asterisk_1700000000.42";

    private static GatewayMediaCodec Twilio() => GatewayMediaCodec.Create(MediaMode.Twilio, Sid, 8192);

    private static GatewayMediaCodec Binary() => GatewayMediaCodec.Create(MediaMode.AstraPbxBinary, Sid, 8192);

    private static byte[] Pcm(params short[] samples)
    {
        var pcm = new byte[samples.Length * 2];
        for (var i = 0; i < samples.Length; i++)
        {
            BinaryPrimitives.WriteInt16LittleEndian(pcm.AsSpan(i * 2), samples[i]);
        }

        return pcm;
    }

    private static string Text(ReadOnlyMemory<byte> message) => Encoding.UTF8.GetString(message.Span);

    [Fact]
    public void Twilio_media_out_is_exact_json_with_base64_mu_law()
    {
        var codec = Twilio();

        // 0 -> 0xFF, 32767 -> 0x80, -32768 -> 0x00 (G.711 mu-law); FF 80 00 in base64 is "/4AA".
        var message = codec.EncodeAudio(Pcm(0, short.MaxValue, short.MinValue));

        Assert.Equal(WebSocketMessageType.Text, codec.AudioMessageType);
        Assert.Equal("""{"event":"media","streamSid":"asterisk_1700000000.42","media":{"payload":"/4AA"}}""", Text(message));
    }

    [Fact]
    public void Twilio_media_out_of_a_full_frame_reuses_one_buffer()
    {
        var codec = Twilio();
        var first = codec.EncodeAudio(new byte[320]);
        var payload = JsonDocument.Parse(first).RootElement.GetProperty("media").GetProperty("payload").GetString();
        Assert.Equal(Enumerable.Repeat((byte)0xFF, 160), Convert.FromBase64String(payload!));

        var second = codec.EncodeAudio(Pcm(0));
        Assert.True(first.Span.Overlaps(second.Span), "the media JSON is built in place, not allocated per frame");
        Assert.Equal("""{"event":"media","streamSid":"asterisk_1700000000.42","media":{"payload":"/w=="}}""", Text(second));
    }

    [Fact]
    public void Twilio_media_out_escapes_the_stream_sid()
    {
        var codec = GatewayMediaCodec.Create(MediaMode.Twilio, "asterisk_a\"b\\c", 8192);
        var json = JsonDocument.Parse(codec.EncodeAudio(Pcm(0, 0, 0))).RootElement;
        Assert.Equal("asterisk_a\"b\\c", json.GetProperty("streamSid").GetString());
        Assert.Equal("////", json.GetProperty("media").GetProperty("payload").GetString());
    }

    [Fact]
    public void Twilio_media_in_decodes_base64_mu_law_to_pcm()
    {
        var pcm = new byte[64];
        var message = Twilio().DecodeText("""{"event":"media","streamSid":"x","media":{"track":"outbound","payload":"/4AA"}}"""u8, pcm);

        Assert.Equal(GatewayEventKind.Media, message.Kind);
        Assert.Equal(Pcm(0, 32124, -32124), message.Pcm.ToArray());
    }

    [Fact]
    public void Twilio_media_in_with_an_escaped_payload_decodes_the_same()
    {
        var pcm = new byte[64];
        var message = Twilio().DecodeText("""{"event":"media","media":{"payload":"\/4AA"}}"""u8, pcm);

        Assert.Equal(GatewayEventKind.Media, message.Kind);
        Assert.Equal(Pcm(0, 32124, -32124), message.Pcm.ToArray());
    }

    [Fact]
    public void Media_without_payload_carries_no_audio()
    {
        var message = Twilio().DecodeText("""{"event":"media","media":{}}"""u8, new byte[16]);
        Assert.Equal(GatewayEventKind.Media, message.Kind);
        Assert.True(message.Pcm.IsEmpty);
    }

    [Theory]
    [InlineData("""{"event":"clear","streamSid":"x"}""", nameof(GatewayEventKind.Clear))]
    [InlineData("""{"event":"stop","streamSid":"x","stop":{"callSid":"c"}}""", nameof(GatewayEventKind.Stop))]
    [InlineData("""{"event":"dtmf","streamSid":"x","dtmf":{"digit":"5"}}""", nameof(GatewayEventKind.Other))]
    [InlineData("""{"event":"start","start":{"streamSid":"x"}}""", nameof(GatewayEventKind.Other))]
    [InlineData("""{"streamSid":"x"}""", nameof(GatewayEventKind.Other))]
    [InlineData("""not json""", nameof(GatewayEventKind.Unparseable))]
    [InlineData("""{"event":"media","media":{"payload":"**not base64**"}}""", nameof(GatewayEventKind.Unparseable))]
    [InlineData("""{"event":5}""", nameof(GatewayEventKind.Unparseable))]
    [InlineData("""{"event":"clear" """, nameof(GatewayEventKind.Unparseable))]
    public void Control_messages_in_are_told_apart(string json, string kindName)
    {
        var kind = Enum.Parse<GatewayEventKind>(kindName);
        var bytes = Encoding.UTF8.GetBytes(json);
        foreach (var codec in new[] { Twilio(), Binary() })
        {
            var message = codec.DecodeText(bytes, new byte[GatewayMediaCodec.MaxPcmLength(bytes.Length)]);
            Assert.Equal(kind, message.Kind);
            Assert.True(message.Pcm.IsEmpty);
            Assert.Null(message.MarkName);
        }
    }

    [Fact]
    public void Mark_in_carries_its_name()
    {
        var named = Twilio().DecodeText("""{"event":"mark","streamSid":"x","mark":{"name":"greeting-done"}}"""u8, new byte[128]);
        Assert.Equal(GatewayEventKind.Mark, named.Kind);
        Assert.Equal("greeting-done", named.MarkName);

        var unnamed = Binary().DecodeText("""{"event":"mark","mark":{}}"""u8, new byte[64]);
        Assert.Equal(GatewayEventKind.Mark, unnamed.Kind);
        Assert.Null(unnamed.MarkName);
    }

    [Fact]
    public void Control_messages_out_are_the_same_json_in_both_modes()
    {
        foreach (var codec in new[] { Twilio(), Binary() })
        {
            Assert.Equal("""{"event":"dtmf","streamSid":"asterisk_1700000000.42","dtmf":{"digit":"7"}}""", Text(codec.EncodeDtmf('7')));
            Assert.Equal("""{"event":"mark","streamSid":"asterisk_1700000000.42","mark":{"name":"m-1"}}""", Text(codec.EncodeMark("m-1")));
            Assert.Equal("""{"event":"stop","streamSid":"asterisk_1700000000.42"}""", Text(codec.EncodeStop()));
        }
    }

    [Fact]
    public void Binary_mode_passes_pcm_through_both_ways_without_a_copy()
    {
        var codec = Binary();
        var pcm = Pcm(1, -2, 300, -32768);

        var message = codec.EncodeAudio(pcm);
        Assert.Equal(WebSocketMessageType.Binary, codec.AudioMessageType);
        Assert.True(message.Span == pcm.AsSpan(), "the frame goes out as it is");

        var decoded = codec.DecodeBinary(pcm);
        Assert.Equal(GatewayEventKind.Media, decoded.Kind);
        Assert.True(decoded.Pcm == pcm.AsSpan(), "bot audio is read where it was received");
    }

    [Fact]
    public void Twilio_mode_ignores_binary_messages()
    {
        var decoded = Twilio().DecodeBinary(Pcm(1, 2, 3));
        Assert.Equal(GatewayEventKind.Other, decoded.Kind);
        Assert.True(decoded.Pcm.IsEmpty);
    }

    [Fact]
    public void Twilio_round_trip_gives_the_mu_law_quantised_pcm_of_any_frame()
    {
        Gen.Short.Array[1, 4096].Sample(samples =>
        {
            var codec = Twilio();
            var pcm = Pcm(samples);
            var json = codec.EncodeAudio(pcm).ToArray();
            var buffer = new byte[GatewayMediaCodec.MaxPcmLength(json.Length)];
            var message = codec.DecodeText(json, buffer);

            Assert.Equal(GatewayEventKind.Media, message.Kind);
            Assert.Equal(pcm.Length, message.Pcm.Length);
            for (var i = 0; i < samples.Length; i++)
            {
                var decoded = BinaryPrimitives.ReadInt16LittleEndian(message.Pcm[(i * 2)..]);
                Assert.Equal(MuLaw.Decode(MuLaw.Encode(samples[i])), decoded);
            }
        });
    }
}
