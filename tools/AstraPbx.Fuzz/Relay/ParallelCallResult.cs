namespace AstraPbx.Fuzz.Relay;

/// <summary>How the parallel call fared while the relay was fuzzed.</summary>
/// <param name="Seconds">How long it ran from its first frame received.</param>
/// <param name="Frames">Frames the caller received from the relay.</param>
/// <param name="Audible">Of those, frames with the bot's (echoed) audio, not silence.</param>
/// <param name="MaxGapMs">The longest time between two frames received.</param>
/// <param name="StillUp">True when the call was still up at the end (neither side had ended it).</param>
/// <param name="MaxGapBoundMs">The gap beyond which the call counts as affected.</param>
/// <param name="EndReason">How the relay ended the call, when it did before the hangup.</param>
public sealed record ParallelCallResult(double Seconds, long Frames, long Audible, double MaxGapMs, bool StillUp, double MaxGapBoundMs, string? EndReason)
{
    /// <summary>Frames every 20 ms: a call that got less than 80% of them lost its cadence.</summary>
    public long Expected => (long)(Seconds * 50);

    public bool Unaffected => StillUp && Frames >= Expected * 8 / 10 && Audible > 0 && MaxGapMs <= MaxGapBoundMs;

    public override string ToString() =>
        $"{Seconds:0} s, {Frames:N0} frames received of {Expected:N0} due ({Audible:N0} with the bot's echo), longest gap {MaxGapMs:0} ms " +
        $"(bound {MaxGapBoundMs:0}), still up: {StillUp}{(EndReason is null ? "" : " (ended: " + EndReason + ")")} -> {(Unaffected ? "unaffected" : "AFFECTED")}";
}
