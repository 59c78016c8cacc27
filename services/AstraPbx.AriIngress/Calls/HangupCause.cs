namespace AstraPbx.AriIngress.Calls;

/// <summary>Q.850 cause texts as Asterisk prints them, for a <c>ChannelHangupRequest</c>, which carries only the number.</summary>
public static class HangupCause
{
    public static string Text(int cause) => cause switch
    {
        0 => "Unknown",
        1 => "Unallocated (unassigned) number",
        3 => "No route to destination",
        16 => "Normal Clearing",
        17 => "User busy",
        18 => "No user responding",
        19 => "User alerting, no answer",
        21 => "Call Rejected",
        26 => "Answered elsewhere",
        27 => "Destination out of order",
        28 => "Invalid number format (addressing incomplete)",
        31 => "Normal, unspecified",
        34 => "Circuit/channel congestion",
        38 => "Network out of order",
        41 => "Temporary failure",
        42 => "Switching equipment congestion",
        _ => "Cause " + cause,
    };
}
