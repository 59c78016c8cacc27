using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay.Gateway;
using AstraPbx.Testing;
using Microsoft.Extensions.Options;
using Xunit;

namespace AstraPbx.MediaRelay.Tests;

/// <summary><see cref="GatewayConnector"/>'s own HTTP/1.1 upgrade against a scripted gateway on a raw socket: what it
/// sends, what it accepts, and how each bad answer is classified, never with the key in the detail.</summary>
public sealed class GatewayUpgradeTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Frames_sent_right_behind_the_101_reach_the_websocket(bool tickedReads)
    {
        // One write: the 101 and a text frame ("hi", unmasked as a server's frames are).
        await using var gateway = ScriptedGateway.Start(request => Encoding.ASCII.GetBytes(Switching(request)).Concat(new byte[] { 0x81, 0x02, (byte)'h', (byte)'i' }).ToArray());
        var connector = Connector(tickedReads);

        using var connection = await connector.ConnectAsync(gateway.Url("/ws/org-1/bot-1?key=ak_secret"), CancellationToken.None);
        var buffer = new byte[16];
        var result = await connection.Socket.ReceiveAsync(new ArraySegment<byte>(buffer), CancellationToken.None).Within(Long, "the early frame");

        Assert.Equal(WebSocketMessageType.Text, result.MessageType);
        Assert.Equal("hi", Encoding.ASCII.GetString(buffer, 0, result.Count));
        var request = await gateway.Request.Within(Long, "the upgrade request");
        Assert.StartsWith("GET /ws/org-1/bot-1?key=ak_secret HTTP/1.1\r\n", request, StringComparison.Ordinal);
        Assert.Contains($"\r\nHost: 127.0.0.1:{gateway.Port}\r\n", request, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_response_head_arriving_a_byte_at_a_time_is_read_whole()
    {
        await using var gateway = ScriptedGateway.Start(request => Encoding.ASCII.GetBytes(Switching(request)), byteAtATime: true);

        using var connection = await Connector().ConnectAsync(gateway.Url("/ws?key=ak_secret"), CancellationToken.None);

        Assert.Equal(WebSocketState.Open, connection.Socket.State);
    }

    [Theory]
    [InlineData("wrong-accept", "no valid Sec-WebSocket-Accept")]
    [InlineData("two-accepts", "no valid Sec-WebSocket-Accept")]
    [InlineData("not-http", "not HTTP/1.1")]
    [InlineData("refused", "HTTP 403")]
    [InlineData("closed", "closed the connection before its response")]
    [InlineData("huge", "too large")]
    public async Task A_bad_answer_is_handshake_rejected_without_the_key(string answer, string detail)
    {
        await using var gateway = ScriptedGateway.Start(request => answer switch
        {
            "wrong-accept" => Encoding.ASCII.GetBytes("HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"),
            "two-accepts" => Encoding.ASCII.GetBytes(Switching(request).Replace("\r\n\r\n", "\r\nSec-WebSocket-Accept: x\r\n\r\n", StringComparison.Ordinal)),
            "not-http" => Encoding.ASCII.GetBytes("SSH-2.0-OpenSSH_9.2\r\n\r\n"),
            "refused" => Encoding.ASCII.GetBytes("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"),
            "closed" => [],
            _ => Encoding.ASCII.GetBytes("HTTP/1.1 101 Switching Protocols\r\nX-Pad: " + new string('a', 9000) + "\r\n\r\n"),
        });

        var e = await Assert.ThrowsAsync<GatewayConnectException>(() => Connector().ConnectAsync(gateway.Url("/ws?key=ak_secret"), CancellationToken.None));

        Assert.Equal(AiSessionFailure.HandshakeRejected, e.Reason);
        Assert.Contains(detail, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("ak_", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_gateway_that_never_answers_times_out()
    {
        await using var gateway = ScriptedGateway.Start(_ => null);
        var connector = new GatewayConnector(Options.Create(new RelayOptions { GatewayConnectTimeout = TimeSpan.FromMilliseconds(300) }));

        var e = await Assert.ThrowsAsync<GatewayConnectException>(() => connector.ConnectAsync(gateway.Url("/ws?key=ak_secret"), CancellationToken.None));

        Assert.Equal(AiSessionFailure.Timeout, e.Reason);
    }

    private static GatewayConnector Connector(bool tickedReads = true) =>
        new(Options.Create(new RelayOptions { TickedGatewayReads = tickedReads }));

    private static string Switching(string request)
    {
        var key = request.Split("\r\n").Single(l => l.StartsWith("Sec-WebSocket-Key: ", StringComparison.Ordinal))["Sec-WebSocket-Key: ".Length..];
        return $"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {WebSocketUpgrade.AcceptFor(key)}\r\n\r\n";
    }

    /// <summary>Accepts one connection on 127.0.0.1, reads the request head, and writes what the script returns for it
    /// (null: nothing, holding the connection open; empty: close).</summary>
    private sealed class ScriptedGateway : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly TaskCompletionSource<string> _request = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _serving;

        private ScriptedGateway(Func<string, byte[]?> script, bool byteAtATime)
        {
            _listener = new TcpListener(IPAddress.Loopback, 0);
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _serving = ServeAsync(script, byteAtATime);
        }

        public int Port { get; }

        public Task<string> Request => _request.Task;

        public static ScriptedGateway Start(Func<string, byte[]?> script, bool byteAtATime = false) => new(script, byteAtATime);

        public Uri Url(string pathAndQuery) => new($"ws://127.0.0.1:{Port}{pathAndQuery}");

        private async Task ServeAsync(Func<string, byte[]?> script, bool byteAtATime)
        {
            try
            {
                using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                client.NoDelay = true;
                var stream = client.GetStream();
                var head = new StringBuilder();
                var one = new byte[1];
                while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && await stream.ReadAsync(one, _stop.Token) == 1)
                {
                    head.Append((char)one[0]);
                }

                _request.TrySetResult(head.ToString());
                var answer = script(head.ToString());
                if (answer is null)
                {
                    await Task.Delay(Timeout.Infinite, _stop.Token);
                    return;
                }

                if (byteAtATime)
                {
                    foreach (var b in answer)
                    {
                        await stream.WriteAsync(new[] { b }, _stop.Token);
                        await stream.FlushAsync(_stop.Token);
                    }
                }
                else if (answer.Length > 0)
                {
                    await stream.WriteAsync(answer, _stop.Token);
                }

                if (answer.Length == 0)
                {
                    return;
                }

                // Hold the connection until the test is done with it.
                await Task.Delay(Timeout.Infinite, _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
            {
                // Stopped, or the relay closed its side.
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _serving;
        }
    }
}
