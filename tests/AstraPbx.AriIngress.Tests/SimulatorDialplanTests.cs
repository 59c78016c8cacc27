using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using AstraPbx.Audio.AudioSocket;
using AstraPbx.Simulators.Ari;
using AstraPbx.Simulators.AudioSocket;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.AriIngress.Tests;

/// <summary>The simulator runs the product's <c>[audiosocket-ai]</c> context as a real Asterisk does (issue 12 item 5,
/// PROTOCOLS.md 1): <c>TryExec(AudioSocket(...))</c> gives SUCCESS on the relay's 0x00 or a graceful close (then
/// <c>Hangup()</c>), and FAILED on a reset, a refused connection, a rejected frame or 2 s with no activity on either
/// side (then the channel re-enters Stasis with <c>ai_failed,&lt;uuid&gt;</c>); a silent caller sends no audio.</summary>
public sealed class SimulatorDialplanTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_reset_from_the_relay_fails_TryExec_and_the_channel_reenters_Stasis_with_ai_failed()
    {
        await using var world = await World.StartAsync();
        var (call, session, socket) = await world.DialAsync();

        socket.LingerState = new LingerOption(true, 0);
        socket.Close();

        var result = await call.AudioSocketReturned.Within(Patience, "AudioSocket() to return");
        Assert.Equal(("FAILED", CallerEnd.ConnectionLost), (result.TryStatus, result.End));
        await world.AssertReenteredAsync(call, session);

        // The application sends it on: a second continue, observable next to the first.
        await world.ContinueAsync(call, "queues", "5001");
        var fallback = await call.ContinuedTo("queues", "5001").Within(Patience, "the continue to the queue");
        Assert.Equal(new DialplanTarget("audiosocket-ai", "s", 1), await call.Continued);
        Assert.Equal(["audiosocket-ai", "queues"], call.Continuations.Select(c => c.Target.Context));
        Assert.True(fallback.Timestamp >= result.Timestamp);
        Assert.False(call.Ended.IsCompleted, "a channel continued to a queue stays up");
        await call.HangUpAsync();
    }

    [Fact]
    public async Task A_graceful_close_from_the_relay_counts_as_a_hangup_and_the_dialplan_hangs_up()
    {
        await using var world = await World.StartAsync();
        var (call, _, socket) = await world.DialAsync();

        socket.Shutdown(SocketShutdown.Send);

        var end = await call.Ended.Within(Patience, "the dialplan's Hangup()");
        Assert.Equal((16, SimulatedEndReason.RelayClosed), (end.Cause, end.Reason));
        Assert.Equal(("SUCCESS", CallerEnd.RelayClosed), ((await call.AudioSocketReturned).TryStatus, (await call.AudioSocketReturned).End));
        AssertHungUpBySuccess(call);
        socket.Dispose();
    }

    [Fact]
    public async Task A_hangup_frame_from_the_relay_succeeds_and_the_dialplan_hangs_up()
    {
        await using var world = await World.StartAsync();
        var (call, _, socket) = await world.DialAsync();

        await FakeRelay.HangUpAsync(socket);

        var end = await call.Ended.Within(Patience, "the dialplan's Hangup()");
        Assert.Equal((16, SimulatedEndReason.RelayHungUp), (end.Cause, end.Reason));
        Assert.Equal(("SUCCESS", CallerEnd.RelayHungUp), ((await call.AudioSocketReturned).TryStatus, (await call.AudioSocketReturned).End));
        AssertHungUpBySuccess(call);
        socket.Dispose();
    }

    [Fact]
    public async Task A_refused_connection_fails_TryExec_and_the_channel_reenters_Stasis_with_ai_failed()
    {
        await using var world = await World.StartAsync();
        var nobody = new TcpListener(IPAddress.Loopback, 0);
        nobody.Start();
        var closedPort = ((IPEndPoint)nobody.LocalEndpoint).Port;
        nobody.Stop();
        var session = Guid.NewGuid();

        var call = await world.StartAiCallAsync(session, $"127.0.0.1:{closedPort}");

        var result = await call.AudioSocketReturned.Within(Patience, "AudioSocket() to give up");
        Assert.Equal("FAILED", result.TryStatus);
        Assert.Null(result.End);
        Assert.NotNull(result.Error);
        await world.AssertReenteredAsync(call, session);
        await call.HangUpAsync();
    }

    [Fact]
    public async Task A_connect_that_times_out_after_2_s_fails_TryExec_and_the_channel_reenters_Stasis()
    {
        await using var world = await World.StartAsync();

        // A listener whose accept queue is full: the kernel drops further SYNs, so a connect neither succeeds nor is refused.
        using var listener = new Socket(SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(0);
        var endpoint = (IPEndPoint)listener.LocalEndPoint!;
        var fillers = new List<Socket>();
        try
        {
            while (fillers.Count < 16)
            {
                var filler = new Socket(SocketType.Stream, ProtocolType.Tcp);
                fillers.Add(filler);
                using var probe = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
                try
                {
                    await filler.ConnectAsync(endpoint, probe.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            var session = Guid.NewGuid();
            var clock = Stopwatch.StartNew();
            var call = await world.StartAiCallAsync(session, $"127.0.0.1:{endpoint.Port}");

            var result = await call.AudioSocketReturned.Within(Patience, "AudioSocket() to give up connecting");
            Assert.Equal(("FAILED", (CallerEnd?)null, "connect timeout"), (result.TryStatus, result.End, result.Error));
            Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(1900), $"gave up after {clock.Elapsed.TotalMilliseconds:0} ms, before app_audiosocket's 2000 ms");
            await world.AssertReenteredAsync(call, session);
            await call.HangUpAsync();
        }
        finally
        {
            foreach (var filler in fillers)
            {
                filler.Dispose();
            }
        }
    }

    /// <summary>ast_audiosocket_receive_frame accepts only 0x00 and the audio kinds, and no empty audio frame.</summary>
    [Theory]
    [InlineData("03000135", "DTMF")]
    [InlineData("01001000112233445566778899aabbccddeeff", "UUID")]
    [InlineData("ff0000", "error")]
    [InlineData("100000", "empty audio")]
    [InlineData("20000400000000", "unknown kind")]
    public async Task A_frame_Asterisk_rejects_fails_TryExec_and_the_channel_reenters_Stasis(string hex, string what)
    {
        await using var world = await World.StartAsync();
        var (call, session, socket) = await world.DialAsync();

        await socket.SendAsync(Convert.FromHexString(hex));

        var result = await call.AudioSocketReturned.Within(Patience, $"AudioSocket() to reject the {what} frame");
        Assert.Equal(("FAILED", CallerEnd.RejectedFrame), (result.TryStatus, result.End));
        await world.AssertReenteredAsync(call, session);
        await call.HangUpAsync();
        socket.Dispose();
    }

    [Fact]
    public async Task Two_seconds_with_nothing_from_either_side_fail_TryExec_and_the_channel_reenters_Stasis()
    {
        await using var world = await World.StartAsync();
        var clock = Stopwatch.StartNew();
        var (call, session, socket) = await world.DialAsync(silent: true);

        var result = await call.AudioSocketReturned.Within(Patience, "app_audiosocket's no-activity timeout");
        clock.Stop();
        Assert.Equal(("FAILED", CallerEnd.IdleTimeout), (result.TryStatus, result.End));
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(1900), $"the timeout fired after {clock.Elapsed.TotalMilliseconds:0} ms, before 2000 ms of silence");
        await world.AssertReenteredAsync(call, session);
        await call.HangUpAsync();
        socket.Dispose();
    }

    [Fact]
    public async Task A_silent_caller_sends_no_audio_and_stays_while_the_relay_sends_frames()
    {
        await using var world = await World.StartAsync();
        var (call, session, socket) = await world.DialAsync(silent: true);

        // The relay sends a frame every 20 ms for 3 s: activity on its side keeps AudioSocket() going past 2 s.
        var frame = new ArrayBufferWriter<byte>();
        AudioSocketFrameWriter.Write(frame, AudioSocketKind.Slin, new byte[320]);
        var audio = await call.AudioSocketDialled;
        var next = Stopwatch.GetTimestamp();
        for (var i = 0; i < 150; i++)
        {
            await socket.SendAsync(frame.WrittenMemory);
            next += Stopwatch.Frequency / 50;
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }
        }

        await Eventually.Until(() => Task.FromResult(audio.Received.Count), n => n == 150, Patience, "the relay's frames at the caller");
        Assert.False(call.AudioSocketReturned.IsCompleted, "AudioSocket() ended although the relay was sending");
        Assert.Equal(0, audio.FramesSent);
        Assert.Equal(0, world.Relay.BytesAfterUuid(session));

        await call.SendDtmfAsync('7');
        await Eventually.Until(() => Task.FromResult(world.Relay.BytesAfterUuid(session)), n => n > 0, Patience, "the DTMF frame at the relay");
        Assert.Equal(4, world.Relay.BytesAfterUuid(session));
        await call.HangUpAsync();
        socket.Dispose();
    }

    [Fact]
    public async Task A_talking_caller_keeps_AudioSocket_going_when_the_relay_sends_nothing()
    {
        await using var world = await World.StartAsync();
        var (call, _, socket) = await world.DialAsync();
        var audio = await call.AudioSocketDialled;

        await Eventually.Until(() => Task.FromResult(audio.FramesSent), n => n >= 150, Patience, "3 s of caller audio");

        Assert.False(call.AudioSocketReturned.IsCompleted, "AudioSocket() timed out although the caller was sending");
        await call.HangUpAsync();
        socket.Dispose();
    }

    private static void AssertHungUpBySuccess(SimulatedCall call)
    {
        Assert.Equal(["NoOp", "TryExec", "GotoIf", "Hangup"], DialplanApps(call));
        Assert.Equal(1, call.StasisEntries);
        Assert.Single(call.Events, e => e.Type == "StasisStart");
        Assert.Contains(call.Events, e => e.Type == "ChannelVarset" && e.Json.Contains("\"TRYSTATUS\"", StringComparison.Ordinal)
            && e.Json.Contains("\"SUCCESS\"", StringComparison.Ordinal));
    }

    private static List<string> DialplanApps(SimulatedCall call) =>
        call.Events.Where(e => e.Type == "ChannelDialplan").Select(e => (string)JsonNode.Parse(e.Json)!["dialplan_app"]!).ToList();

    /// <summary>The simulator, a fake relay and an events socket of the application (so that events are delivered).</summary>
    [Theory]
    [InlineData("hangup")]
    [InlineData("close")]
    [InlineData("reset")]
    public async Task The_wideband_context_sends_slin16_and_hands_the_channel_back_as_ai_ended_however_the_relay_ends(string how)
    {
        await using var world = await World.StartAsync();
        var (call, session, socket) = await world.DialAsync(context: Wideband);
        Assert.Equal((AudioSocketKind.Slin16, 640), await world.Relay.FirstAudioAsync(session).Within(Patience, "the first audio frame"));

        switch (how)
        {
            case "hangup":
                await FakeRelay.HangUpAsync(socket);
                break;
            case "close":
                socket.Shutdown(SocketShutdown.Send);
                break;
            default:
                socket.LingerState = new LingerOption(true, 0);
                socket.Close();
                break;
        }

        // chan_audiosocket ends its channel the same way each time: Dial answered, and the caller goes on (g).
        var result = await call.AudioSocketReturned.Within(Patience, "Dial() to return");
        Assert.Equal("ANSWER", result.TryStatus);
        await world.AssertReenteredAsync(call, session, "ai_ended", Wideband);
        socket.Dispose();
        await call.HangUpAsync();
    }

    [Fact]
    public async Task The_wideband_context_hands_an_unreachable_relay_back_as_ai_failed()
    {
        await using var world = await World.StartAsync();
        var session = Guid.NewGuid();
        var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();

        var call = await world.StartAiCallAsync(session, $"127.0.0.1:{port}", context: Wideband);

        var result = await call.AudioSocketReturned.Within(Patience, "Dial() to return");
        Assert.Equal(("CHANUNAVAIL", (CallerEnd?)null), (result.TryStatus, result.End));
        await world.AssertReenteredAsync(call, session, "ai_failed", Wideband);
        await call.HangUpAsync();
    }

    private const string Wideband = "audiosocket-ai-16";

    private sealed class World : IAsyncDisposable
    {
        private readonly ClientWebSocket _events = new();
        private Task _draining = Task.CompletedTask;

        private World(AsteriskSimulator asterisk)
        {
            Asterisk = asterisk;
            Http = SampleShapeTests.Client(asterisk, asterisk.Options.Password);
        }

        public AsteriskSimulator Asterisk { get; }

        public FakeRelay Relay { get; } = new();

        public HttpClient Http { get; }

        public static async Task<World> StartAsync()
        {
            var world = new World(await AsteriskSimulator.StartAsync());
            var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes(world.Asterisk.Options.Username + ":" + world.Asterisk.Options.Password));
            world._events.Options.SetRequestHeader("Authorization", "Basic " + auth);
            await world._events.ConnectAsync(new Uri(world.Asterisk.BaseUrl.Replace("http", "ws", StringComparison.Ordinal) + "/ari/events?app=astrapbx"), default);
            await world.Asterisk.WaitForEventSocketAsync().Within(Patience, "the events socket");
            world._draining = world.DrainAsync();
            return world;
        }

        /// <summary>An AI call handed to the fake relay, once the relay has its UUID frame.</summary>
        public async Task<(SimulatedCall Call, Guid Session, Socket RelaySide)> DialAsync(bool silent = false, string context = "audiosocket-ai")
        {
            var session = Guid.NewGuid();
            var call = await StartAiCallAsync(session, Relay.Endpoint, silent, context);
            var socket = await Relay.ConnectedAsync(session).Within(Patience, "AudioSocket to dial the relay");
            await call.AudioSocketDialled.Within(Patience, "the caller's side of AudioSocket");
            return (call, session, socket);
        }

        /// <summary>What the ingress does for an AI call: answer, set the AudioSocket variables, subscribe, continue.</summary>
        public async Task<SimulatedCall> StartAiCallAsync(Guid session, string service, bool silent = false, string context = "audiosocket-ai")
        {
            var call = await Asterisk.StartCallAsync(new SimulatedCallOptions { SilentCaller = silent });
            var id = call.ChannelId;
            await Expect(Http.PostAsync($"ari/channels/{id}/answer", null), 204);
            await Expect(Http.PostAsync($"ari/channels/{id}/variable?variable=AUDIOSOCKET_UUID&value={session}", null), 204);
            await Expect(Http.PostAsync($"ari/channels/{id}/variable?variable=AUDIOSOCKET_SERVICE&value={service}", null), 204);
            await Expect(Http.PostAsync($"ari/applications/astrapbx/subscription?eventSource=channel:{id}", null), 200);
            await ContinueAsync(call, context, "s");
            return call;
        }

        public Task ContinueAsync(SimulatedCall call, string context, string extension) =>
            Expect(Http.PostAsync($"ari/channels/{call.ChannelId}/continue?context={context}&extension={extension}&priority=1", null), 204);

        /// <summary>TRYSTATUS=FAILED took the <c>failed</c> branch: a second, delivered StasisStart on the same channel
        /// with <c>ai_failed,&lt;uuid&gt;</c>, the channel in Stasis again and still up.</summary>
        public async Task AssertReenteredAsync(SimulatedCall call, Guid session, string kind = "ai_failed", string context = "audiosocket-ai")
        {
            // Waits for the recorded event: the simulator counts the entry just before it records the StasisStart, so
            // a count of 2 could be read while the event list still held one (CI, 2026-12-05).
            await Eventually.Until(() => Task.FromResult(call.Events.Count(e => e.Type == "StasisStart")), n => n == 2, Patience, "the second Stasis entry");
            Assert.Equal(2, call.StasisEntries);
            Assert.True(call.InStasis);
            Assert.False(call.Ended.IsCompleted);
            Assert.Equal(context == Wideband ? ["NoOp", "Dial", "GotoIf", "Stasis"] : ["NoOp", "TryExec", "GotoIf", "Stasis"], DialplanApps(call));
            var starts = call.Events.Where(e => e.Type == "StasisStart").ToList();
            Assert.Equal(2, starts.Count);
            Assert.True(starts[1].Delivered, "the re-entry reached the application");
            var start = JsonNode.Parse(starts[1].Json)!;
            Assert.Equal(call.ChannelId, (string)start["channel"]!["id"]!);
            Assert.Equal([kind, session.ToString()], start["args"]!.AsArray().Select(a => (string)a!));
            Assert.Equal((context, "s", "Stasis", $"astrapbx,{kind},{session}"),
                ((string)start["channel"]!["dialplan"]!["context"]!, (string)start["channel"]!["dialplan"]!["exten"]!,
                    (string)start["channel"]!["dialplan"]!["app_name"]!, (string)start["channel"]!["dialplan"]!["app_data"]!));
            Assert.Equal(context == Wideband ? ("DIALSTATUS", kind == "ai_ended" ? "ANSWER" : "CHANUNAVAIL") : ("TRYSTATUS", "FAILED"),
                context == Wideband ? ("DIALSTATUS", call.Variables["DIALSTATUS"]) : ("TRYSTATUS", call.Variables["TRYSTATUS"]));
            var answer = await Http.PostAsync($"ari/channels/{call.ChannelId}/answer", null);
            Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);
        }

        private static async Task Expect(Task<HttpResponseMessage> request, int status)
        {
            using var response = await request;
            Assert.Equal(status, (int)response.StatusCode);
        }

        private async Task DrainAsync()
        {
            var buffer = new byte[64 * 1024];
            try
            {
                while ((await _events.ReceiveAsync(buffer, default)).MessageType != WebSocketMessageType.Close)
                {
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            _events.Abort();
            await _draining;
            _events.Dispose();
            Http.Dispose();
            await Relay.DisposeAsync();
            await Asterisk.DisposeAsync();
        }
    }
}
