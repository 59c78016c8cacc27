using System.Text;
using AstraPbx.Contracts.Media;
using AstraPbx.Fuzz.Inputs;
using AstraPbx.Fuzz.Running;
using AstraPbx.MediaRelay.Caller;
using AstraPbx.MediaRelay.Gateway;
using AstraPbx.MediaRelay.Media;
using CsCheck;

namespace AstraPbx.Fuzz.Targets;

/// <summary>A bot's messages on one session, the media mode, whether the bounds are the defaults or tight ones (so they
/// are reached often), and how many playout ticks follow each message.</summary>
public sealed record GatewayInput(MediaMode Mode, bool Tight, BotMessage[] Messages, int Ticks);

/// <summary>The gateway codec in both media modes (<see cref="GatewayMediaCodec.DecodeText"/>, <c>DecodeBinary</c>) and
/// what the gateway leg does with each decoded message (bot audio, <c>clear</c>, <c>mark</c> into the jitter buffer),
/// with playout ticks and mark echoes in between. Bad input may only come out as a message kind (<c>unparseable</c>
/// included) or a <see cref="GatewayViolationException"/> naming the bound; memory stays within the bounds.</summary>
public sealed class GatewayTarget : FuzzTarget<GatewayInput>
{
    private const int CapMs = 1000;
    private static readonly GatewayLimits Tight = new(MaxTextMessageBytes: 2048, MaxJsonDepth: 4, MaxMarkNameBytes: 16);

    public override string Name => "gateway";

    internal override uint Stream => 3;

    internal override Gen<GatewayInput> Inputs { get; } =
        from mode in Gen.Enum<MediaMode>()
        from tight in Gen.Bool
        from messages in GatewayInputs.Messages
        from ticks in Gen.Int[0, 3]
        select new GatewayInput(mode, tight, messages, ticks);

    internal override string Check(GatewayInput input)
    {
        var limits = input.Tight ? Tight : GatewayLimits.Default;
        var maxMarks = input.Tight ? 4 : 256;
        var codec = GatewayMediaCodec.Create(input.Mode, "asterisk_fuzz", CallerLeg.MaxPayloadFromCaller, limits);
        var jitter = new JitterBuffer(40, CapMs, maxMarks);
        var frame = new byte[jitter.FrameBytes];
        var outcome = "none";
        foreach (var message in input.Messages)
        {
            try
            {
                outcome = Apply(codec, jitter, message, limits);
            }
            catch (GatewayViolationException e)
            {
                var tooLarge = !message.Binary && message.Bytes.Length > limits.MaxTextMessageBytes;
                if (tooLarge != (e.Violation == GatewayViolation.TextMessageTooLarge))
                {
                    throw new FuzzFailure($"{e.Violation} for a {(message.Binary ? "binary" : "text")} message of {message.Bytes.Length} bytes");
                }

                // The session ends here (gateway-violation): nothing after it is read.
                return "violation:" + e.Violation;
            }

            if (outcome == "Stop")
            {
                return "stop";
            }

            for (var i = 0; i < input.Ticks; i++)
            {
                jitter.ReadFrame(frame);
                while (jitter.TryTakeDueMark(out var name))
                {
                    codec.EncodeMark(name);
                }
            }

            if (jitter.PendingMarks > maxMarks || jitter.Count > CapMs * 16)
            {
                throw new FuzzFailure($"the jitter buffer holds {jitter.PendingMarks} marks and {jitter.Count} bytes, over its bounds");
            }
        }

        return outcome;
    }

    internal override string Print(GatewayInput input) =>
        $"{input.Mode}, tight {input.Tight}, ticks {input.Ticks}, messages: {string.Join(" | ", input.Messages.Select(m => m.ToString()))}";

    /// <summary>Decodes one message and applies it as the gateway leg does; returns its kind.</summary>
    private static string Apply(GatewayMediaCodec codec, JitterBuffer jitter, BotMessage message, GatewayLimits limits)
    {
        if (message.Binary)
        {
            var binary = codec.DecodeBinary(message.Bytes);
            if (binary.Kind == GatewayEventKind.Media && binary.Pcm.Length != message.Bytes.Length)
            {
                throw new FuzzFailure($"a binary message of {message.Bytes.Length} bytes decoded to {binary.Pcm.Length} bytes of audio");
            }

            if (binary.Kind == GatewayEventKind.Media)
            {
                jitter.Write(binary.Pcm);
            }

            return "binary-" + binary.Kind;
        }

        var pcm = new byte[GatewayMediaCodec.MaxPcmLength(message.Bytes.Length)];
        var decoded = codec.DecodeText(message.Bytes, pcm);
        switch (decoded.Kind)
        {
            case GatewayEventKind.Media:
                if ((decoded.Pcm.Length & 1) != 0)
                {
                    throw new FuzzFailure($"a media event decoded to an odd {decoded.Pcm.Length} bytes of PCM");
                }

                jitter.Write(decoded.Pcm);
                break;
            case GatewayEventKind.Clear:
                jitter.RequestClear();
                break;
            case GatewayEventKind.Mark when decoded.MarkName is { } name:
                if (Encoding.UTF8.GetByteCount(name) > limits.MaxMarkNameBytes)
                {
                    throw new FuzzFailure($"a mark name of {Encoding.UTF8.GetByteCount(name)} UTF-8 bytes passed the bound of {limits.MaxMarkNameBytes}");
                }

                jitter.AddMark(name);
                break;
        }

        return decoded.Kind.ToString();
    }
}
