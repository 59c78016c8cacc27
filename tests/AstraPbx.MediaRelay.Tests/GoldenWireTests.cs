using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay.Caller;
using AstraPbx.MediaRelay.Gateway;
using AstraPbx.MediaRelay.Sessions;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.MediaRelay.Tests;

/// <summary>The relay against the golden wire frames of <c>contracts/golden/gateway/gateway-wire.json</c>, the file the
/// Pipecat serializer's tests read too: the handshake and the codecs produce exactly its relay-to-bot frames (JSON
/// compared as JSON, bytes exactly) and make of its bot-to-relay frames exactly what it says, in both media modes and at
/// both rates.</summary>
public sealed class GoldenWireTests
{
    private static readonly JsonElement Golden = Load();

    public static TheoryData<string> Cases()
    {
        var names = new TheoryData<string>();
        foreach (var item in Golden.GetProperty("cases").EnumerateArray())
        {
            names.Add(item.GetProperty("name").GetString()!);
        }

        return names;
    }

    [Fact]
    public void Golden_file_covers_both_modes_and_both_binary_rates()
    {
        var names = Golden.GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("name").GetString()!).Order().ToArray();
        Assert.Equal(new[] { "binary-16000", "binary-8000", "twilio-16000", "twilio-8000" }, names);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Relay_handshake_is_the_golden_connected_and_start(string name)
    {
        var (golden, request) = Case(name);
        var frames = golden.GetProperty("relayToBot").EnumerateArray().ToArray();

        Assert.Equal("connected", frames[0].GetProperty("what").GetString());
        AssertJson(frames[0].GetProperty("json"), GatewayHandshake.Connected());
        Assert.Equal("start", frames[1].GetProperty("what").GetString());
        AssertJson(frames[1].GetProperty("json"), GatewayHandshake.Start(request));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Relay_media_and_control_to_the_bot_are_the_golden_frames(string name)
    {
        var (golden, request) = Case(name);
        var codec = Codec(request);
        var gatewayRate = golden.GetProperty("gatewaySampleRate").GetInt32();
        Assert.Equal(request.MediaMode == MediaMode.Twilio ? 8000 : request.CallerSampleRate, gatewayRate);

        var audioFrames = 0;
        foreach (var frame in golden.GetProperty("relayToBot").EnumerateArray().Skip(2))
        {
            switch (frame.GetProperty("what").GetString())
            {
                case "audio":
                    var pcm = Base64(frame, "pcm");
                    if (audioFrames++ == 0)
                    {
                        // The file's caller audio is the pattern it names: one 20 ms frame at the bot's rate.
                        Assert.Equal(CallerPattern(gatewayRate), pcm);
                    }

                    var message = codec.EncodeAudio(pcm);
                    if (request.MediaMode == MediaMode.Twilio)
                    {
                        Assert.Equal(WebSocketMessageType.Text, codec.AudioMessageType);
                        AssertJson(frame.GetProperty("json"), message.ToArray());
                    }
                    else
                    {
                        Assert.Equal(WebSocketMessageType.Binary, codec.AudioMessageType);
                        Assert.Equal("binary", frame.GetProperty("type").GetString());
                        Assert.Equal(Base64(frame, "bytes"), message.ToArray());
                    }

                    break;
                case "dtmf":
                    AssertJson(frame.GetProperty("json"), codec.EncodeDtmf(frame.GetProperty("digit").GetString()!.Single()));
                    break;
                case "mark":
                    AssertJson(frame.GetProperty("json"), codec.EncodeMark(frame.GetProperty("name").GetString()!));
                    break;
                case "stop":
                    AssertJson(frame.GetProperty("json"), codec.EncodeStop());
                    break;
                default:
                    Assert.Fail($"{name}: relayToBot frame '{frame.GetProperty("what")}' has no assertion here");
                    break;
            }
        }

        Assert.True(name == "twilio-16000" || audioFrames > 0, $"{name}: no audio frame in the golden file");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Relay_makes_of_the_bots_frames_what_the_golden_file_says(string name)
    {
        var (golden, request) = Case(name);
        var codec = Codec(request);
        foreach (var frame in golden.GetProperty("botToRelay").EnumerateArray())
        {
            var expected = frame.GetProperty("relay");
            var kind = expected.GetProperty("kind").GetString();
            var what = $"{name}: bot frame '{frame.GetProperty("what").GetString()}'";
            switch (frame.GetProperty("type").GetString())
            {
                case "binary":
                    AssertDecoded(what, expected, codec.DecodeBinary(Base64(frame, "bytes")));
                    break;
                case "text":
                    var json = Encoding.UTF8.GetBytes(frame.GetProperty("json").GetRawText());
                    var pcm = new byte[GatewayMediaCodec.MaxPcmLength(json.Length)];
                    AssertDecoded(what, expected, codec.DecodeText(json, pcm));
                    break;
                case "close":
                    // Which close codes end the call how is asserted over real sockets (EndToEndTests, GatewayFailureTests);
                    // here the golden file's reason and caller outcome must be the relay's.
                    Assert.Equal("close", kind);
                    AssertEnd(what, expected);
                    break;
                default:
                    Assert.Fail($"{what}: unknown frame type");
                    break;
            }
        }
    }

    private static void AssertDecoded(string what, JsonElement expected, GatewayMessage message)
    {
        var kind = expected.GetProperty("kind").GetString();
        Assert.True(string.Equals(kind, message.Kind.ToString(), StringComparison.OrdinalIgnoreCase),
            $"{what}: golden says '{kind}', the relay decodes {message.Kind}");
        if (kind == "media")
        {
            Assert.Equal(Base64(expected, "pcm"), message.Pcm.ToArray());
        }
        else
        {
            Assert.True(message.Pcm.IsEmpty, $"{what}: carries audio");
        }

        Assert.Equal(kind == "mark" ? expected.GetProperty("name").GetString() : null, message.MarkName);
        if (kind == "stop")
        {
            AssertEnd(what, expected);
        }
    }

    /// <summary>The golden end reason is the relay's wire name for the bot ending the call, and its caller outcome is how
    /// the relay ends the AudioSocket for it: <c>hangup</c> (0x00) or <c>fallback</c> (reset).</summary>
    private static void AssertEnd(string what, JsonElement expected)
    {
        var wire = expected.GetProperty("endReason").GetString();
        var reasons = Enum.GetValues<EndReason>().Where(r => r.ToWire() == wire).ToArray();
        Assert.True(reasons.Length == 1, $"{what}: '{wire}' is not one of the relay's end reasons");
        Assert.Equal(SessionEndedBy.Gateway, reasons[0].EndedBy(wasLive: true));
        Assert.Equal(expected.GetProperty("caller").GetString() == "fallback", reasons[0].ResetsCaller());
    }

    private static (JsonElement Case, StartAiSession Request) Case(string name)
    {
        var golden = Golden.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);
        var session = Golden.GetProperty("session");
        var custom = new Dictionary<string, string>();
        foreach (var property in session.GetProperty("customParameters").EnumerateObject())
        {
            custom[property.Name] = property.Value.GetString()!;
        }

        var request = new StartAiSession
        {
            CallId = session.GetProperty("callId").GetString()!,
            AsteriskId = session.GetProperty("asteriskId").GetString()!,
            SessionId = session.GetProperty("sessionId").GetGuid(),
            GatewayUrl = "ws://127.0.0.1:9/ws?key=not-in-the-handshake",
            CallerSampleRate = golden.GetProperty("callerSampleRate").GetInt32(),
            MediaMode = Enum.Parse<MediaMode>(golden.GetProperty("mediaMode").GetString()!),
            OrgId = session.GetProperty("orgId").GetString()!,
            CallerNumber = session.GetProperty("callerNumber").GetString()!,
            Extension = session.GetProperty("extension").GetString()!,
            ChannelName = session.GetProperty("channelName").GetString()!,
            CustomParameters = custom,
        };
        return (golden, request);
    }

    private static GatewayMediaCodec Codec(StartAiSession request) =>
        GatewayMediaCodec.Create(request.MediaMode, GatewayHandshake.StreamSid(request.CallId), CallerLeg.MaxPayloadFromCaller);

    /// <summary>The golden file's caller audio: sample i = 1 + (i % 997) + (i / samplesPerFrame % 7) x 1000, one 20 ms
    /// frame (320 bytes at 8 kHz, 640 at 16 kHz).</summary>
    private static byte[] CallerPattern(int rate)
    {
        var samplesPerFrame = rate / 50;
        var pcm = new byte[samplesPerFrame * 2];
        for (var i = 0; i < samplesPerFrame; i++)
        {
            BinaryPrimitives.WriteInt16LittleEndian(pcm.AsSpan(i * 2), (short)(1 + (i % 997) + (i / samplesPerFrame % 7) * 1000));
        }

        return pcm;
    }

    private static byte[] Base64(JsonElement element, string property) => Convert.FromBase64String(element.GetProperty(property).GetString()!);

    /// <summary>JSON compared as JSON: same members and values, in any order.</summary>
    private static void AssertJson(JsonElement expected, byte[] actual)
    {
        var actualText = Encoding.UTF8.GetString(actual);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected.GetRawText()), JsonNode.Parse(actualText)),
            $"expected {expected.GetRawText()}\n  actual {actualText}");
    }

    private static JsonElement Load()
    {
        var path = Path.Combine(TestEnvironment.RepoRoot, "contracts", "golden", "gateway", "gateway-wire.json");
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        return document.RootElement.Clone();
    }
}
