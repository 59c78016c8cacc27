using System.Security.Cryptography;
using System.Text;

namespace AstraPbx.MediaRelay.Gateway;

/// <summary>The client side of the WebSocket opening handshake (RFC 6455 4.1-4.2), HTTP/1.1 only: the request's bytes and
/// a parser for the response's head. The relay writes and reads these itself, on the connection's own stream, rather
/// than through <c>SocketsHttpHandler</c>, which keeps an <c>HttpConnection</c> with two 4 KiB buffers alive under
/// every upgraded stream for the whole call and allocates request, response and header objects for each (about 8 KiB
/// live and more in garbage per session; docs/benchmarks.md).</summary>
internal static class WebSocketUpgrade
{
    /// <summary>The largest response head the relay reads (status line and headers): a 101 is about 130 bytes.</summary>
    internal const int MaxResponseHead = 8192;

    private const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    /// <summary><c>GET &lt;path and query&gt; HTTP/1.1</c> with <c>Host</c>, <c>Connection: Upgrade</c>,
    /// <c>Upgrade: websocket</c>, <c>Sec-WebSocket-Version: 13</c> and <paramref name="key"/>. The request target carries
    /// the URL's query string (the gateway key): these bytes go to the gateway only, never to a log.</summary>
    public static byte[] Request(Uri url, string key)
    {
        var host = url.HostNameType == UriHostNameType.IPv6 ? "[" + url.IdnHost + "]" : url.IdnHost;
        if (!url.IsDefaultPort)
        {
            host += ":" + url.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return Encoding.ASCII.GetBytes(
            $"GET {url.PathAndQuery} HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n");
    }

    /// <summary>RFC 6455 4.2.2: base64(SHA-1(key + the protocol's GUID)).</summary>
    public static string AcceptFor(string key) => Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + AcceptGuid)));

    /// <summary>Parses the response head in <paramref name="buffer"/> once it is whole (up to and including the blank
    /// line): its length, the status code, and the <c>Sec-WebSocket-Accept</c> value (null when absent or repeated).
    /// Returns false while the blank line has not arrived; a head that is whole but not HTTP/1.x gets status 0.</summary>
    public static bool TryParseResponse(ReadOnlySpan<byte> buffer, out int headLength, out int status, out string? accept)
    {
        headLength = 0;
        status = 0;
        accept = null;
        var end = buffer.IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            return false;
        }

        headLength = end + 4;
        var head = buffer[..(end + 2)];
        var lineEnd = head.IndexOf("\r\n"u8);
        var statusLine = head[..lineEnd];
        // "HTTP/1.1 101 Switching Protocols": the version, one space, three digits, then a space or the line's end.
        if (statusLine.Length >= 12 && statusLine.StartsWith("HTTP/1."u8) && statusLine[8] == (byte)' '
            && (statusLine.Length == 12 || statusLine[12] == (byte)' ')
            && int.TryParse(statusLine.Slice(9, 3), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var code))
        {
            status = code;
        }

        var accepts = 0;
        for (var rest = head[(lineEnd + 2)..]; !rest.IsEmpty;)
        {
            var next = rest.IndexOf("\r\n"u8);
            var line = rest[..next];
            rest = rest[(next + 2)..];
            var colon = line.IndexOf((byte)':');
            if (colon > 0 && Ascii.EqualsIgnoreCase(line[..colon], "Sec-WebSocket-Accept"u8))
            {
                accepts++;
                accept = Encoding.ASCII.GetString(line[(colon + 1)..].Trim(" \t"u8));
            }
        }

        if (accepts != 1)
        {
            accept = null;
        }

        return true;
    }
}
