using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using AstraPbx.Audio.AudioSocket;
using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay.Gateway;
using AstraPbx.MediaRelay.Tests.Support;
using AstraPbx.Simulators.AudioSocket;
using AstraPbx.Simulators.Gateway;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.MediaRelay.Tests;

/// <summary>A bot that fails, errors or goes silent mid-call: the relay resets the AudioSocket connection (RST, no
/// 0x00, no FIN) so <c>TryExec(AudioSocket(...))</c> gives <c>TRYSTATUS=FAILED</c> and the dialplan falls back
/// (issue 12, PROTOCOLS.md 1). <see cref="CallerEnd.ConnectionLost"/> is what the simulated Asterisk sees on a reset;
/// a FIN would be <see cref="CallerEnd.RelayClosed"/>, a 0x00 <see cref="CallerEnd.RelayHungUp"/>.</summary>
public sealed class GatewayFailureTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("abort", "gateway-failed")]
    [InlineData("close-1011", "gateway-close-error")]
    [InlineData("close-4000", "gateway-close-error")]
    public async Task A_failed_bot_resets_the_AudioSocket_so_the_dialplan_falls_back(string how, string reason)
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Silent });
        await using var relay = await RelayHost.StartAsync(rabbit);
        var (ready, _) = await relay.PrepareAsync(gateway.Url.ToString(), MediaMode.Twilio);
        var bot = await gateway.NextSession(Long);
        await using var caller = await relay.DialAsync(ready!.SessionId, new ToneSource());
        await bot.FirstAudio.Within(Long, "caller audio at the gateway");

        switch (how)
        {
            case "abort":
                bot.Abort();
                break;
            case "close-1011":
                await bot.CloseAsync(WebSocketCloseStatus.InternalServerError, "boom");
                break;
            default:
                await bot.CloseAsync((WebSocketCloseStatus)4000, "app error");
                break;
        }

        await AssertResetAsync(caller);
        var ended = await relay.Ended(ready.SessionId);
        Assert.Equal(SessionEndedBy.Gateway, ended.EndedBy);
        Assert.Equal(reason, ended.Reason);
    }

    [Theory]
    [InlineData(new byte[] { 0x82, 0x82, 0, 0, 0, 0, 1, 2 }, "a masked frame from the server")]
    [InlineData(new byte[] { 0xC2, 0x02, 1, 2 }, "reserved bits set")] // a compressed frame no extension allowed
    [InlineData(new byte[] { 0x09, 0x00 }, "a fragmented control frame")]
    [InlineData(new byte[] { 0x88, 0x02, 0x03, 0xED }, "status 1005")]
    public async Task A_bot_that_breaks_the_websocket_protocol_mid_call_is_failed_and_the_AudioSocket_is_reset(byte[] frame, string fault)
    {
        await using var bot = RawBot.Start(frame);
        var logs = new CapturingLoggerProvider();
        await using var relay = await RelayHost.StartAsync(rabbit, logs: logs);
        var (ready, _) = await relay.PrepareAsync(bot.Url.ToString(), MediaMode.AstraPbxBinary);
        await using var caller = await relay.DialAsync(ready!.SessionId, new ToneSource());

        // The bot sends its bad frame once caller audio reaches it: the caller is reset (the dialplan falls back), the
        // session ends as the bot's failure, and the log names what the bot did wrong.
        await bot.BadFrameSent.Within(Long, "caller audio at the raw bot, and its bad frame sent");
        await AssertResetAsync(caller);
        var ended = await relay.Ended(ready.SessionId);
        Assert.Equal(SessionEndedBy.Gateway, ended.EndedBy);
        Assert.Equal("gateway-failed", ended.Reason);
        Assert.Contains(logs.Lines, line => line.Contains("gateway failed mid-call", StringComparison.Ordinal)
                                            && line.Contains(fault, StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Lines, line => line.Contains("ak_secret", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_partitioned_bot_is_detected_by_the_keepalive_and_the_AudioSocket_is_reset()
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Echo });
        await using var proxy = new TcpProxy(gateway.Url.Host, gateway.Url.Port);
        proxy.Start();
        await using var relay = await RelayHost.StartAsync(rabbit, new Dictionary<string, string?>
        {
            ["Relay:GatewayKeepAliveInterval"] = "00:00:01",
            ["Relay:GatewayKeepAliveTimeout"] = "00:00:01",
        });
        var url = new UriBuilder(gateway.Url) { Port = proxy.Port }.Uri;
        var (ready, _) = await relay.PrepareAsync(url.ToString());
        var bot = await gateway.NextSession(Long);
        await using var caller = await relay.DialAsync(ready!.SessionId, new ToneSource());
        await bot.FirstAudio.Within(Long, "caller audio at the gateway");

        // The network between relay and bot stops carrying bytes; nothing is closed on either side.
        var frozenAt = Stopwatch.GetTimestamp();
        proxy.Freeze();

        await AssertResetAsync(caller);
        var detected = Stopwatch.GetElapsedTime(frozenAt);
        var ended = await relay.Ended(ready.SessionId);
        Assert.Equal("gateway-keepalive-timeout", ended.Reason);
        Assert.Equal(SessionEndedBy.Gateway, ended.EndedBy);

        // Interval + timeout is 2 s; the bound is generous for a loaded machine but far below "never" (150 s seen).
        Assert.True(detected < TimeSpan.FromSeconds(20), $"partition detected after {detected.TotalSeconds:0.0} s");
    }

    [Fact]
    public async Task A_bot_that_stops_reading_ends_the_session_as_failed_and_the_AudioSocket_is_reset()
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Silent });
        await using var relay = await RelayHost.StartAsync(rabbit, new Dictionary<string, string?>
        {
            ["Relay:GatewayKeepAliveInterval"] = "00:00:01",
            ["Relay:GatewayKeepAliveTimeout"] = "00:00:01",
            ["Relay:GatewaySendTimeout"] = "00:00:01",
        });
        var (ready, _) = await relay.PrepareAsync(gateway.Url.ToString());
        var bot = await gateway.NextSession(Long);
        await using var caller = await relay.DialAsync(ready!.SessionId, new ToneSource());
        await bot.FirstAudio.Within(Long, "caller audio at the gateway");

        bot.StopReading();

        await AssertResetAsync(caller);
        var ended = await relay.Ended(ready.SessionId);

        // Which bound fires first depends on the socket buffers: the unanswered ping, or the send that no longer completes.
        Assert.Contains(ended.Reason, new[] { "gateway-keepalive-timeout", "gateway-send-timeout" });
        Assert.Equal(SessionEndedBy.Gateway, ended.EndedBy);
    }

    [Fact]
    public async Task A_send_the_bot_does_not_take_within_the_send_timeout_ends_the_session_as_gateway_send_timeout()
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Silent });
        await using var relay = await RelayHost.StartAsync(rabbit, new Dictionary<string, string?>
        {
            // The keepalive is out of the way: only the bounded send can notice this bot.
            ["Relay:GatewayKeepAliveInterval"] = "00:05:00",
            ["Relay:GatewayKeepAliveTimeout"] = "00:05:00",
            ["Relay:GatewaySendTimeout"] = "00:00:01",
        });
        var (ready, _) = await relay.PrepareAsync(gateway.Url.ToString());
        var bot = await gateway.NextSession(Long);
        await using var raw = await RawCaller.ConnectAsync(relay.Endpoints.AudioSocket);
        await raw.SendAsync(RawCaller.Uuid(ready!.SessionId), RawCaller.Frame(AudioSocketKind.Slin, new byte[320]));
        await bot.FirstAudio.Within(Long, "caller audio at the gateway");

        bot.StopReading();

        // Large frames, unpaced, fill the socket buffers between relay and bot in moments instead of minutes.
        var big = RawCaller.Frame(AudioSocketKind.Slin, new byte[8000]);
        var ended = relay.Ended(ready.SessionId);
        var resetSeenBySend = false;
        while (!ended.IsCompleted && !raw.Closed.IsCompleted)
        {
            try
            {
                await raw.SendAsync(big).WaitAsync(Long);
            }
            catch (System.Net.Sockets.SocketException e)
            {
                // The reset's error goes to whichever call meets it first: this write, or the read.
                resetSeenBySend = e.SocketErrorCode == System.Net.Sockets.SocketError.ConnectionReset;
                break;
            }
        }

        Assert.Equal("gateway-send-timeout", (await ended).Reason);
        Assert.False(await raw.Closed.Within(Long, "the AudioSocket end"), "no 0x00");
        Assert.True(raw.EndedWithReset || resetSeenBySend, "a reset, so the dialplan falls back");
    }

    [Fact]
    public async Task A_bot_stop_hangs_up_with_0x00_then_a_graceful_close_not_a_reset()
    {
        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Silent });
        await using var relay = await RelayHost.StartAsync(rabbit);
        var (ready, _) = await relay.PrepareAsync(gateway.Url.ToString());
        var bot = await gateway.NextSession(Long);
        await using var raw = await RawCaller.ConnectAsync(relay.Endpoints.AudioSocket);
        await raw.SendAsync(RawCaller.Uuid(ready!.SessionId), RawCaller.Frame(AudioSocketKind.Slin, new byte[320]));
        await bot.FirstAudio.Within(Long, "caller audio at the gateway");

        await bot.SendStopAsync();

        Assert.True(await raw.Closed.Within(Long, "the relay's 0x00 and close"), "0x00 before the end of the stream");
        Assert.False(raw.EndedWithReset, "a graceful close (FIN), not a reset");
        Assert.Equal("gateway-stop", (await relay.Ended(ready.SessionId)).Reason);
    }

    /// <summary>A bot on a bare TCP socket: it answers the upgrade, reads the relay's frames until the first binary one
    /// (caller audio), then writes the bytes it was given, whatever they are.</summary>
    private sealed class RawBot : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly TaskCompletionSource _sent = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _serving;

        private RawBot(byte[] frame)
        {
            _listener.Start();
            Url = new Uri($"ws://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/ws/org-1/bot-1?key=ak_secret");
            _serving = ServeAsync(frame);
        }

        public Uri Url { get; }

        public Task BadFrameSent => _sent.Task;

        public static RawBot Start(byte[] frame) => new(frame);

        private async Task ServeAsync(byte[] frame)
        {
            try
            {
                using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                var stream = client.GetStream();
                var head = new StringBuilder();
                var one = new byte[1];
                while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && await stream.ReadAsync(one, _stop.Token) == 1)
                {
                    head.Append((char)one[0]);
                }

                var key = head.ToString().Split("\r\n").Single(l => l.StartsWith("Sec-WebSocket-Key: ", StringComparison.Ordinal))["Sec-WebSocket-Key: ".Length..];
                await stream.WriteAsync(Encoding.ASCII.GetBytes(
                    $"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {WebSocketUpgrade.AcceptFor(key)}\r\n\r\n"), _stop.Token);

                // The relay's frames (masked, as a client's are): the handshake's text, then caller audio.
                var header = new byte[14];
                while (true)
                {
                    await stream.ReadExactlyAsync(header.AsMemory(0, 2), _stop.Token);
                    var length = (long)(header[1] & 0x7F);
                    if (length == 126)
                    {
                        await stream.ReadExactlyAsync(header.AsMemory(2, 2), _stop.Token);
                        length = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(2));
                    }
                    else if (length == 127)
                    {
                        await stream.ReadExactlyAsync(header.AsMemory(2, 8), _stop.Token);
                        length = (long)BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(2));
                    }

                    await stream.ReadExactlyAsync(new byte[4 + length], _stop.Token);
                    if ((header[0] & 0x0F) == 0x2)
                    {
                        break;
                    }
                }

                await stream.WriteAsync(frame, _stop.Token);
                _sent.TrySetResult();
                await Task.Delay(Timeout.Infinite, _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or SocketException)
            {
                _sent.TrySetException(e);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _serving;
            _stop.Dispose();
        }
    }

    private static async Task AssertResetAsync(AudioSocketCaller caller)
    {
        Assert.Equal(CallerEnd.ConnectionLost, await caller.Ended.Within(Long, "the AudioSocket reset"));
        Assert.DoesNotContain(caller.Received, f => f.Kind == AudioSocketKind.Hangup);
    }
}
