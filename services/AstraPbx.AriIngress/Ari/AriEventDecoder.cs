using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace AstraPbx.AriIngress.Ari;

/// <summary>Turns one text message of the events socket into an <see cref="AriEvent"/>.</summary>
public static class AriEventDecoder
{
    /// <summary>False, with the <paramref name="problem"/> to log, when the message is not ARI JSON or has no
    /// <c>type</c>.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> utf8, [NotNullWhen(true)] out AriEvent? evt, out string problem)
    {
        try
        {
            evt = JsonSerializer.Deserialize(utf8, AriJsonContext.Default.AriEvent);
        }
        catch (JsonException e)
        {
            // The exception names the position and at most the offending token; the event itself is not logged.
            evt = null;
            problem = "not ARI JSON: " + e.Message;
            return false;
        }

        if (evt?.Type is null)
        {
            evt = null;
            problem = "no 'type'";
            return false;
        }

        problem = "";
        return true;
    }
}
