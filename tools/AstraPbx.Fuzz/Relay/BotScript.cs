using AstraPbx.Fuzz.Inputs;
using CsCheck;

namespace AstraPbx.Fuzz.Relay;

/// <summary>How a fuzzing bot ends its side after its messages.</summary>
public enum BotEnd
{
    /// <summary>Sends nothing more and keeps reading: the caller's side ends the call.</summary>
    Stay,

    /// <summary>Close 1000: the bot ends the call.</summary>
    CloseNormal,

    /// <summary>Close 1011: an error close.</summary>
    CloseError,

    /// <summary>Drops the connection without a close frame.</summary>
    Abort,
}

/// <summary>What a fuzzing bot does on one session: its messages (each cut into <see cref="Fragments"/> WebSocket frames)
/// and its end.</summary>
public sealed record BotScript(BotMessage[] Messages, int Fragments, BotEnd End)
{
    public static Gen<BotScript> Any { get; } =
        from messages in GatewayInputs.Messages
        from fragments in Gen.Frequency((3, Gen.Const(1)), (1, Gen.Int[2, 4]))
        from end in Gen.Enum<BotEnd>()
        select new BotScript(messages, fragments, end);
}
