using System.Text;
using AstraPbx.MediaRelay.Gateway;
using Xunit;

namespace AstraPbx.MediaRelay.Tests.Units;

/// <summary>The relay's own HTTP/1.1 upgrade (RFC 6455 4.1): the request's bytes and the response head's parser.</summary>
public sealed class WebSocketUpgradeTests
{
    private const string Key = "dGhlIHNhbXBsZSBub25jZQ==";

    [Fact]
    public void Accept_is_the_rfc_6455_example()
    {
        // RFC 6455 1.3: the sample nonce and its accept value.
        Assert.Equal("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", WebSocketUpgrade.AcceptFor(Key));
    }

    [Theory]
    [InlineData("ws://bots.example/ws/org/bot?key=ak_1", "GET /ws/org/bot?key=ak_1 HTTP/1.1", "Host: bots.example")]
    [InlineData("wss://bots.example/ws", "GET /ws HTTP/1.1", "Host: bots.example")]
    [InlineData("ws://127.0.0.1:8765/x?key=a%20b", "GET /x?key=a%20b HTTP/1.1", "Host: 127.0.0.1:8765")]
    [InlineData("wss://bots.example:8443/", "GET / HTTP/1.1", "Host: bots.example:8443")]
    [InlineData("ws://[::1]:9000/ws", "GET /ws HTTP/1.1", "Host: [::1]:9000")]
    public void Request_carries_the_target_host_and_upgrade_headers(string url, string requestLine, string host)
    {
        var text = Encoding.ASCII.GetString(WebSocketUpgrade.Request(new Uri(url), Key));

        var lines = text.Split("\r\n");
        Assert.Equal(requestLine, lines[0]);
        Assert.Equal(host, lines[1]);
        Assert.Contains("Connection: Upgrade", lines);
        Assert.Contains("Upgrade: websocket", lines);
        Assert.Contains("Sec-WebSocket-Version: 13", lines);
        Assert.Contains("Sec-WebSocket-Key: " + Key, lines);
        Assert.EndsWith("\r\n\r\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_101_with_its_accept_is_parsed_with_the_head_length()
    {
        var head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nsec-websocket-accept:  s3pPLMBiTxaQ9kYGzzhZRbK+xOo= \r\n\r\n";
        var bytes = Encoding.ASCII.GetBytes(head + "\x81\x02hi");

        Assert.True(WebSocketUpgrade.TryParseResponse(bytes, out var length, out var status, out var accept));
        Assert.Equal(head.Length, length);
        Assert.Equal(101, status);
        Assert.Equal("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", accept);
    }

    [Fact]
    public void A_head_without_its_blank_line_is_not_whole_yet()
    {
        var bytes = Encoding.ASCII.GetBytes("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n");
        Assert.False(WebSocketUpgrade.TryParseResponse(bytes, out _, out _, out _));
    }

    [Theory]
    [InlineData("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", 403)]
    [InlineData("HTTP/1.0 101\r\n\r\n", 101)]
    [InlineData("SSH-2.0-OpenSSH_9.2\r\n\r\n", 0)]
    [InlineData("HTTP/1.1 1010 Nope\r\n\r\n", 0)]
    [InlineData("HTTP/2 101 Nope\r\n\r\n", 0)]
    public void The_status_is_read_from_an_http_1_status_line_only(string head, int expected)
    {
        Assert.True(WebSocketUpgrade.TryParseResponse(Encoding.ASCII.GetBytes(head), out _, out var status, out var accept));
        Assert.Equal(expected, status);
        Assert.Null(accept);
    }

    [Fact]
    public void A_repeated_accept_header_counts_as_none()
    {
        var bytes = Encoding.ASCII.GetBytes("HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: a\r\nSec-WebSocket-Accept: a\r\n\r\n");
        Assert.True(WebSocketUpgrade.TryParseResponse(bytes, out _, out var status, out var accept));
        Assert.Equal(101, status);
        Assert.Null(accept);
    }

    [Fact]
    public void Random_bytes_never_throw()
    {
        var random = new Random(13);
        for (var i = 0; i < 2000; i++)
        {
            var bytes = new byte[random.Next(0, 200)];
            random.NextBytes(bytes);
            if (random.Next(2) == 0 && bytes.Length >= 4)
            {
                "\r\n\r\n"u8.CopyTo(bytes.AsSpan(random.Next(0, bytes.Length - 3)));
            }

            WebSocketUpgrade.TryParseResponse(bytes, out var length, out _, out _);
            Assert.InRange(length, 0, bytes.Length);
        }
    }
}
