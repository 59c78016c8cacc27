namespace AstraPbx.ServiceDefaults.Telemetry;

/// <summary>Removes secrets from URLs before they reach a log line, span, message or exception.
/// The gateway URL carries its key in the query string (PROTOCOLS.md section 2), ARI URLs may carry
/// <c>api_key</c>, and AMQP URLs carry a password in the user info.</summary>
public static class SecretRedactor
{
    private const string Mask = "***";

    /// <summary>The URL with every query value and any user-info password replaced by <c>***</c>:
    /// <c>wss://bots.example/ws/a/b?key=ak_1</c> becomes <c>wss://bots.example/ws/a/b?key=***</c>.
    /// Text that is not an absolute URL keeps nothing after a <c>?</c> or <c>@</c>.</summary>
    public static string RedactUrl(string? url)
    {
        if (string.IsNullOrEmpty(url))
        {
            return "";
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            var cut = url.IndexOfAny(['?', '@']);
            return cut < 0 ? url : url[..cut] + "?" + Mask;
        }

        var builder = new System.Text.StringBuilder(url.Length);
        builder.Append(uri.Scheme).Append("://");
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            var user = uri.UserInfo.Split(':')[0];
            builder.Append(user).Append(':').Append(Mask).Append('@');
        }

        builder.Append(uri.Host);
        if (!uri.IsDefaultPort)
        {
            builder.Append(':').Append(uri.Port);
        }

        builder.Append(uri.AbsolutePath);
        if (uri.Query.Length > 1)
        {
            builder.Append('?');
            var pairs = uri.Query[1..].Split('&');
            for (var i = 0; i < pairs.Length; i++)
            {
                if (i > 0)
                {
                    builder.Append('&');
                }

                var eq = pairs[i].IndexOf('=', StringComparison.Ordinal);
                builder.Append(eq < 0 ? pairs[i] : pairs[i][..eq]).Append('=').Append(Mask);
            }
        }

        return builder.ToString();
    }
}
