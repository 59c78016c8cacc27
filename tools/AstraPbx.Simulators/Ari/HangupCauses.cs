namespace AstraPbx.Simulators.Ari;

/// <summary>The hangups the simulator knows: the <c>reason</c> of <c>DELETE /channels/{id}</c>, the Q.850 cause it
/// becomes (ARI's mapping), and the <c>cause_txt</c> the simulator's <c>ChannelDestroyed</c> carries.</summary>
internal static class HangupCauses
{
    private const int NormalClearing = 16;

    /// <summary>Reason, cause, text. A cause without its own text here is reported as <c>Unknown</c>.</summary>
    private static readonly (string Reason, int Cause, string? Text)[] Table =
    [
        ("normal", NormalClearing, "Normal Clearing"),
        ("busy", 17, "User busy"),
        ("timeout", 18, "No user responding"),
        ("no_answer", 19, "User alerting, no answer"),
        ("rejected", 21, "Call Rejected"),
        ("answered_elsewhere", 26, "Answered elsewhere"),
        ("congestion", 34, "Circuit/channel congestion"),
        ("failed", 38, "Network out of order"),
        ("unallocated", 1, null),
        ("number_incomplete", 28, null),
        ("normal_unspecified", 31, null),
        ("codec_mismatch", 58, null),
        ("interworking", 127, null),
    ];

    /// <summary>The cause a hangup reason gives; Normal Clearing for none or an unknown one.</summary>
    public static int ForReason(string? reason)
    {
        foreach (var (name, cause, _) in Table)
        {
            if (string.Equals(name, reason, StringComparison.Ordinal))
            {
                return cause;
            }
        }

        return NormalClearing;
    }

    /// <summary>The text the simulator reports with <paramref name="cause"/>.</summary>
    public static string Text(int cause)
    {
        foreach (var (_, known, text) in Table)
        {
            if (known == cause && text is not null)
            {
                return text;
            }
        }

        return "Unknown";
    }
}
