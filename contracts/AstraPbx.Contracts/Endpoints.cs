namespace AstraPbx.Contracts;

/// <summary>Queue names shared between services (and the tools that stand in for one of them).</summary>
public static class Endpoints
{
    /// <summary>The queue every relay consumes <c>StartAiSession</c> from (competing consumers).</summary>
    public const string StartAiSessionQueue = "start-ai-session";

    /// <summary>The queue of one Asterisk server's ingress: commands for a call go to the ingress that owns
    /// the call's Asterisk, so several Asterisk servers can share one bus.</summary>
    public static string AriIngressQueue(string asteriskId) => "ari-ingress-" + Sanitize(asteriskId);

    /// <summary>The <c>queue:</c> address of <see cref="AriIngressQueue"/>, for <c>GetSendEndpoint</c>.</summary>
    public static Uri AriIngressAddress(string asteriskId) => new("queue:" + AriIngressQueue(asteriskId));

    // asterisk_id is an entity id such as "02:42:ac:11:00:02"; queue names keep to [a-z0-9-].
    private static string Sanitize(string value)
    {
        Span<char> buffer = stackalloc char[Math.Min(value.Length, 200)];
        for (var i = 0; i < buffer.Length; i++)
        {
            var c = char.ToLowerInvariant(value[i]);
            buffer[i] = char.IsAsciiLetterOrDigit(c) ? c : '-';
        }

        return new string(buffer);
    }
}
