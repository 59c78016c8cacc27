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
