using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using AstraPbx.Audio.AudioSocket;
using AstraPbx.LocalRun;
using AstraPbx.Simulators.AudioSocket;
using AstraPbx.Simulators.Gateway;
using AstraPbx.Testing;
using Xunit;
using Xunit.Abstractions;

namespace AstraPbx.EndToEnd.Tests;

/// <summary>Issue 13: the relay SIGKILLed on a 16 kHz route. The generated <c>[audiosocket-ai-16]</c> context runs
/// <c>Dial(AudioSocket/.../c(slin16),,g)</c>, which cannot tell a reset from a hangup (PROTOCOLS.md 1): mid-call the
/// channel comes back as <c>ai_ended,&lt;session&gt;</c>, nobody reports the session's end, and Routing falls back once
/// <c>Routing:AiSessionEndWait</c> (1 s) has passed. Killed after it prepared the session but before Asterisk connected,
/// <c>Dial</c> finds nobody listening (<c>CHANUNAVAIL</c>) and the channel comes back as <c>ai_failed</c>. Its own
/// deployment: each test kills the relay and starts it again first if the other killed it.</summary>
public sealed class WidebandRelayKillTests(RelayKillDeployment fixture, ITestOutputHelper output) : IClassFixture<RelayKillDeployment>
{
    /// <summary>AiSessionEndWait (1 s) plus the re-entry into Stasis and the continue, with room for a loaded machine.</summary>
    private static readonly TimeSpan FallbackBound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_relay_SIGKILLed_mid_call_on_a_16_kHz_route_hands_the_caller_to_the_fallback()
    {
        var deployment = fixture.Deployment;
        var relay = await RunningRelayAsync(deployment);
        var userId = await Calls.AddBotUserAsync(deployment, "1864", deployment.Gateway.Url.ToString(), sampleRate: 16000);
        var (call, caller, _) = await Calls.DialBotAsync(deployment, $"ai_agent,{userId}", "1864");
        await Eventually.Until(() => Task.FromResult(caller.Received.Count(Calls.IsSound)), n => n >= 10, Calls.Patience, "echoed 16 kHz bot audio at the caller");
        Assert.Equal(deployment.Asterisk.Options.WidebandAudioSocketContext, (await call.Continued).Context);
        Assert.All(caller.Received.Take(20), f => Assert.Equal((AudioSocketKind.Slin16, 640), (f.Kind, f.Payload.Length)));

        var faultAt = Stopwatch.GetTimestamp();
        await relay.Service.KillAsync();

        var fallback = await Calls.FallbackAsync(deployment, call).Within(Calls.Patience, $"the caller to reach the fallback after the relay's SIGKILL\n{deployment.AllOutput()}");
        var returned = await call.AudioSocketReturned;
        var after = Stopwatch.GetElapsedTime(faultAt, fallback.Timestamp);
        output.WriteLine($"16 kHz relay SIGKILL mid-call: Dial returned ({returned.TryStatus}, {returned.End}) after {Calls.Ms(faultAt, returned.Timestamp):0} ms, "
            + $"continued to the fallback after {after.TotalMilliseconds:0} ms");

        // The kernel reset the connection; through Dial that is an answered leg that ended, like a bot's hangup.
        Assert.Equal(("ANSWER", CallerEnd.ConnectionLost), (returned.TryStatus, returned.End));
        Assert.Equal(2, call.StasisEntries);
        Assert.False(call.Ended.IsCompleted, "the caller waits in the fallback queue, not hung up");
        Assert.True(after <= FallbackBound, $"the fallback took {after.TotalMilliseconds:0} ms after the kill");

        // Nobody was left to report the session's end: Routing waited for it, then chose the fallback for that session.
        var record = await Calls.RecordAsync(deployment, call.ChannelId, r => (int)r["stasis_entries"]! == 2 && (string?)r["outcome"] == "fallback", "the fallback");
        output.WriteLine($"record: session_id={record["session_id"]} ai_ended_by={record["ai_ended_by"]} route_reason={record["route_reason"]} "
            + $"route_path={string.Join(" > ", (string[])record["route_path"]!)}");
        Assert.Equal("ai-session-end-unknown", record["route_reason"]);
        Assert.Equal(["ai_ended:" + record["session_id"]], (string[])record["route_path"]!);
        Assert.Null(record["ai_ended_at"]);

        // The wait for an ending that never comes is Routing's plan, not a database that does not answer.
        Assert.DoesNotContain($"Call {call.ChannelId}: database", deployment.Routing.OutputText(), StringComparison.Ordinal);
        await call.HangUpAsync();
        var ended = await Calls.RecordAsync(deployment, call.ChannelId, r => r["ended_at"] is not null, "the hangup");
        Assert.Equal(16, ended["hangup_cause"]);
    }

    [Fact]
    public async Task A_relay_SIGKILLed_after_preparing_a_16_kHz_session_and_before_Asterisk_connects_hands_the_caller_to_the_fallback()
    {
        var deployment = fixture.Deployment;
        var relay = await RunningRelayAsync(deployment);

        // The bot is reached through a gate that holds the relay's connection: while it is held the relay is inside
        // StartAiSession and cannot have replied, so freezing the ingress then stops the continue into the 16 kHz
        // context from running before the relay is dead, whatever the machine's load.
        await using var gate = GatewayGate.Start(deployment.Gateway.BaseUrl.Port);
        var userId = await Calls.AddBotUserAsync(deployment, "1865", $"ws://127.0.0.1:{gate.Port}/ws/org-1/bot-1?key={FakeGateway.Secret}", sampleRate: 16000);
        var call = await Calls.DialAsync(deployment, $"ai_agent,{userId}", "1865");
        await gate.Arrived.Within(Calls.Patience, $"the relay to connect to the bot for {call.ChannelId}\n{deployment.AllOutput()}");

        var ingress = deployment.Ingress.Process;
        long faultAt;
        await SignalAsync(ingress.Pid, "STOP");
        try
        {
            gate.Open();

            // Routing logs its decision once the relay's AiSessionReady is in: the session is prepared, the continue queued.
            var routed = $"Call {call.ChannelId} routed:";
            await Eventually.Until(() => Task.FromResult(deployment.Routing.Process.OutputText), o => o.Contains(routed, StringComparison.Ordinal), Calls.Patience,
                "Routing's decision after the relay's AiSessionReady");
            Assert.False(call.AudioSocketDialled.IsCompleted, "Asterisk dialled the relay while the ingress was stopped");
            faultAt = Stopwatch.GetTimestamp();
            await relay.Service.KillAsync();
        }
        finally
        {
            await SignalAsync(ingress.Pid, "CONT");
        }

        var fallback = await Calls.FallbackAsync(deployment, call).Within(Calls.Patience, $"the caller to reach the fallback after the relay's SIGKILL\n{deployment.AllOutput()}");
        var returned = await call.AudioSocketReturned;
        var after = Stopwatch.GetElapsedTime(faultAt, fallback.Timestamp);
        output.WriteLine($"16 kHz relay SIGKILL before connect: Dial returned ({returned.TryStatus}, {returned.Error}) after {Calls.Ms(faultAt, returned.Timestamp):0} ms, "
            + $"continued to the fallback after {after.TotalMilliseconds:0} ms (the ingress resumed right after the kill)");

        // Nobody listens on the relay's port: Dial cannot connect, and the channel comes back as ai_failed.
        Assert.Equal(deployment.Asterisk.Options.WidebandAudioSocketContext, call.Continuations[0].Target.Context);
        Assert.Equal(("CHANUNAVAIL", null), (returned.TryStatus, returned.End));
        Assert.True(call.AudioSocketDialled.IsFaulted, "Asterisk connected to a relay that was SIGKILLed");
        Assert.Equal(2, call.StasisEntries);
        Assert.False(call.Ended.IsCompleted, "the caller waits in the fallback queue, not hung up");
        Assert.True(after <= FallbackBound, $"the fallback took {after.TotalMilliseconds:0} ms after the kill");

        var record = await Calls.RecordAsync(deployment, call.ChannelId, r => (int)r["stasis_entries"]! == 2 && (string?)r["outcome"] == "fallback", "the fallback");
        output.WriteLine($"record: session_id={record["session_id"]} relay_instance={record["relay_instance"]} route_reason={record["route_reason"]} "
            + $"route_path={string.Join(" > ", (string[])record["route_path"]!)}");
        Assert.Equal("relay-failed", record["route_reason"]);
        Assert.Equal(["ai_failed:" + record["session_id"]], (string[])record["route_path"]!);
        Assert.Equal(relay.Name, record["relay_instance"]);
        await call.HangUpAsync();
        var ended = await Calls.RecordAsync(deployment, call.ChannelId, r => r["ended_at"] is not null, "the hangup");
        Assert.Equal(16, ended["hangup_cause"]);
    }

    /// <summary>The deployment's one relay, started again if an earlier test of this class killed it.</summary>
    private static async Task<RelayInstance> RunningRelayAsync(LocalDeployment deployment)
    {
        var relay = deployment.Relays[0];
        if (relay.Service.Killed)
        {
            await relay.Service.StartAgainAsync();
        }

        return relay;
    }

    /// <summary>Sends a signal to a process of the deployment (<c>kill -STOP</c> freezes it, <c>-CONT</c> resumes it).</summary>
    private static async Task SignalAsync(int pid, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))!;
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>A loopback TCP forwarder to the bot that holds each connection it accepts, reading nothing, until
    /// <see cref="Open"/>; then forwards both ways until either side closes.</summary>
    private sealed class GatewayGate : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly int _targetPort;
        private readonly TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _opened = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationTokenSource _disposed = new();
        private readonly List<Task> _forwards = [];
        private Task _accepting = Task.CompletedTask;

        private GatewayGate(int targetPort)
        {
            _targetPort = targetPort;
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        /// <summary>Completes when the first connection is accepted (and held).</summary>
        public Task Arrived => _arrived.Task;

        public static GatewayGate Start(int targetPort)
        {
            var gate = new GatewayGate(targetPort);
            gate._listener.Start();
            gate._accepting = gate.AcceptAsync();
            return gate;
        }

        public void Open() => _opened.TrySetResult();

        private async Task AcceptAsync()
        {
            while (true)
            {
                TcpClient inbound;
                try
                {
                    inbound = await _listener.AcceptTcpClientAsync(_disposed.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }

                _arrived.TrySetResult();
                lock (_forwards)
                {
                    _forwards.Add(ForwardAsync(inbound));
                }
            }
        }

        private async Task ForwardAsync(TcpClient inbound)
        {
            using var _ = inbound;
            using var outbound = new TcpClient();
            try
            {
                await _opened.Task.WaitAsync(_disposed.Token);
                await outbound.ConnectAsync(IPAddress.Loopback, _targetPort, _disposed.Token);
                var up = inbound.GetStream().CopyToAsync(outbound.GetStream(), _disposed.Token);
                var down = outbound.GetStream().CopyToAsync(inbound.GetStream(), _disposed.Token);
                await Task.WhenAny(up, down);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _disposed.CancelAsync();
            _listener.Stop();
            await _accepting;
            Task[] forwards;
            lock (_forwards)
            {
                forwards = [.. _forwards];
            }

            await Task.WhenAll(forwards);
            _disposed.Dispose();
        }
    }
}
