using System.Text;
using CsCheck;

namespace AstraPbx.Fuzz.Inputs;

/// <summary>One WebSocket message from a bot: text (JSON, or what claims to be) or binary.</summary>
public sealed record BotMessage(bool Binary, byte[] Bytes)
{
    public override string ToString() => Binary ? $"binary[{Bytes.Length}]" : Bytes.Length > 300 ? $"text[{Bytes.Length}]" : "text " + Encoding.UTF8.GetString(Bytes);
}

/// <summary>What a bot might send the relay (PROTOCOLS.md 2): Twilio Media Streams events (<c>media</c> with base64
/// payloads, <c>mark</c>, <c>clear</c>, <c>stop</c>, <c>dtmf</c>, unknown ones), with escaped and odd values, deep
/// nesting, huge strings around the text bound, then mutated (invalid UTF-8 included); and binary audio of any length.</summary>
internal static class GatewayInputs
{
    private static readonly string[] Events = ["media", "mark", "clear", "stop", "dtmf", "connected", "start", "Media", "", "unknown"];

    private static Gen<string> Str(Gen<string> raw) => raw.Select(s => "\"" + s + "\"");

    private static Gen<string> Base64Payload { get; } = Gen.Frequency(
        (6, Gen.Byte.Array[0, 480].Select(b => "\"" + Convert.ToBase64String(b) + "\"")),
        (1, Gen.Byte.Array[1, 60].Select(b => "\"" + Convert.ToBase64String(b).Replace("/", "\\/", StringComparison.Ordinal).Replace("A", "\\u0041", StringComparison.Ordinal) + "\"")),
        (1, Str(Gen.String[Gen.Char.AlphaNumeric, 0, 40])),
        (1, Gen.OneOf(Gen.Const("null"), Gen.Const("12"), Gen.Const("[]"), Gen.Const("{}"), Gen.Const("\"====\""))));

    private static Gen<string> MarkName { get; } = Gen.Frequency(
        (4, Str(Gen.String[Gen.Char.AlphaNumeric, 0, 24])),
        (1, Gen.String[0, 40].Select(s => System.Text.Json.JsonSerializer.Serialize(s))),
        (1, Str(Gen.String[Gen.Char.AlphaNumeric, 240, 300])),
        (1, Gen.Int[1, 80].Select(n => "\"" + string.Concat(Enumerable.Repeat("\\u00e9", n)) + "\"")),
        (1, Gen.OneOf(Gen.Const("\"\\ud800\""), Gen.Const("\"a\\udc00b\""), Gen.Const("null"), Gen.Const("7"), Gen.Const("{\"x\":1}"), Gen.Const("[\"a\"]"))));

    private static Gen<string> Deep { get; } =
        from depth in Gen.Int[1, 40]
        from arrays in Gen.Bool
        select arrays ? new string('[', depth) + new string(']', depth) : string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);

    private static Gen<string> Extra { get; } = Gen.Frequency(
        (6, Gen.Const("")),
        (2, Deep.Select(d => ",\"x\":" + d)),
        (1, Gen.Int[60_000, 70_000].Select(n => ",\"pad\":\"" + new string('z', n) + "\"")),
        (1, Gen.Int[1, 200].Select(n => ",\"sid\":\"" + string.Concat(Enumerable.Repeat("\\\"", n)) + "\"")));

    private static Gen<string> Section { get; } = Gen.Frequency(
        (4, Base64Payload.Select(p => ",\"media\":{\"track\":\"outbound\",\"payload\":" + p + "}")),
        (3, MarkName.Select(n => ",\"mark\":{\"name\":" + n + "}")),
        (1, Gen.Const(",\"dtmf\":{\"digit\":\"5\"}")),
        (1, Gen.Const("")),
        (1, Deep.Select(d => ",\"media\":" + d)));

    /// <summary>A JSON event as a bot would send it (before mutation).</summary>
    private static Gen<byte[]> Json { get; } =
        from ev in Gen.Frequency((8, Gen.Int[0, Events.Length - 1].Select(i => "\"" + Events[i] + "\"")), (1, Gen.OneOf(Gen.Const("1"), Gen.Const("null"), Gen.Const("{}"))))
        from section in Section
        from extra in Extra
        from sectionFirst in Gen.Bool
        select Encoding.UTF8.GetBytes(sectionFirst && section.Length > 0
            ? "{" + section[1..] + ",\"event\":" + ev + ",\"streamSid\":\"asterisk_fuzz\"" + extra + "}"
            : "{\"event\":" + ev + ",\"streamSid\":\"asterisk_fuzz\"" + section + extra + "}");

    public static Gen<BotMessage> Message { get; } = Gen.Frequency(
        (7, Mutation.Mutated(Json).Select(b => new BotMessage(false, b))),
        (1, Deep.Select(d => new BotMessage(false, Encoding.UTF8.GetBytes(d)))),
        (3, Gen.Byte.Array[0, 1300].Select(b => new BotMessage(true, b))));

    /// <summary>A bot's messages on one session.</summary>
    public static Gen<BotMessage[]> Messages { get; } = Message.Array[1, 12];
}
