namespace AstraPbx.AriIngress.Calls;

/// <summary>The arguments of <c>Stasis(app,arg1,arg2,...)</c>. Asterisk hands them over already split in
/// <c>StasisStart.args</c>; a channel found by resync only shows <c>dialplan.app_data</c> (<c>astrapbx,ai_agent,3</c>).</summary>
public static class StasisArgs
{
    /// <summary>The arguments after the application name when <paramref name="appData"/> is a <c>Stasis()</c> call of
    /// <paramref name="application"/>; null when it belongs to another application.</summary>
    public static IReadOnlyList<string>? FromAppData(string? appData, string application)
    {
        if (string.IsNullOrEmpty(appData))
        {
            return null;
        }

        var parts = appData.Split(',');
        if (!string.Equals(parts[0].Trim(), application, StringComparison.Ordinal))
        {
            return null;
        }

        return parts.Length == 1 ? [] : parts[1..];
    }
}

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
