using AstraPbx.Contracts;
using AstraPbx.Contracts.Calls;
using AstraPbx.LocalRun;
using AstraPbx.Simulators.Ari;
using AstraPbx.Testing;
using MassTransit;
using Xunit;
using Status = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace AstraPbx.AriIngress.Tests;

/// <summary>The ingress as its own process, with real faults: the broker unreachable (a proxy in front of the real
/// broker is stopped; the shared broker keeps running), and the ingress SIGKILLed and restarted with calls in Stasis,
/// in the AI context and in the dialplan.</summary>
public sealed class IngressFaultTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>The broker's own reconnect after it comes back (plus a loaded machine).</summary>
    private static readonly TimeSpan BrokerReturn = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task With_the_broker_unreachable_a_call_in_Stasis_takes_the_edge_fallback_and_Routing_hears_of_it_once_the_broker_is_back()
    {
        var vhost = await rabbit.CreateVirtualHostAsync("ari-edge");
        await using var broker = new TcpProxy(rabbit.Address.Host, rabbit.Address.Port);
        broker.Start();
        await using var asterisk = await AsteriskSimulator.StartAsync();
        var (bus, recorder) = await BusRecorder.StartAsync(vhost);
        await using var _ = bus;
        var url = $"http://127.0.0.1:{ServiceProcess.FreePort()}";
        var settings = Environment(vhost.Replace($":{rabbit.Address.Port}/", $":{broker.Port}/", StringComparison.Ordinal), asterisk);
        settings["Ari__EdgeFallbackAfter"] = "00:00:02.500";
        settings["Ari__EdgeFallbackContext"] = "reception";
        settings["Ari__EdgeFallbackExtension"] = "100";
        await using var ingress = ServiceProcess.Start("AstraPbx.AriIngress", ["--urls", url], settings);
        await Eventually.Until(() => GrpcHealth.CheckAsync(url), s => s == Status.Serving, Patience, "SERVING\n" + ingress.OutputText);

        broker.Stop();
        await Eventually.Until(() => GrpcHealth.CheckAsync(url), s => s == Status.NotServing, Patience, "NOT_SERVING without the broker\n" + ingress.OutputText);
        var call = await asterisk.StartCallAsync(new SimulatedCallOptions { StasisArgs = "ai_agent,3" });

        // Nothing reaches Routing, yet the caller is not left in silence: 2.5 s plus a generous margin for a loaded machine.
        var target = await call.Continued.Within(TimeSpan.FromSeconds(2.5) + TimeSpan.FromSeconds(30), "the edge fallback to continue the call\n" + ingress.OutputText);
        Assert.Equal(new DialplanTarget("reception", "100", 1), target);
        Assert.Equal("Up", call.State);
        Assert.True(call.Subscribed);
        Assert.Empty(recorder.Entered);
        await Eventually.Until(() => Task.FromResult(ingress.OutputText), o => o.Contains($"Call {call.ChannelId}: no command", StringComparison.Ordinal),
            Patience, "the edge fallback's warning");

        broker.Start();
        var taken = await recorder.FallbackAsync(call.ChannelId, BrokerReturn);
        var entered = await recorder.EnteredAsync(call.ChannelId, BrokerReturn);
        Assert.Equal((FallbackTaken.DecidedByIngress, RouteOutcome.Fallback, "reception,100,1", "edge:no-command-within-2500ms"),
            (taken.DecidedBy, taken.Outcome, taken.Destination, taken.Reason));
        Assert.Equal((entered.EnteredAt, entered.DecideBy), (taken.Entry.EnteredAt, taken.Entry.DecideBy));
        Assert.Equal(entered.EnteredAt + TimeSpan.FromSeconds(2.5), entered.DecideBy);

        // Not before the deadline (a timer may round its due time by a millisecond or so).
        Assert.True(taken.TakenAt >= entered.DecideBy - TimeSpan.FromMilliseconds(50), $"taken at {taken.TakenAt:O}, deadline {entered.DecideBy:O}");

        // The subscription made before the fallback still turns the caller's hangup into CallEnded.
        await call.HangUpAsync(17);
        Assert.Equal(17, (await recorder.EndedAsync(call.ChannelId)).Cause);
        await IngressCallTests.AssertStaysAsync(() => recorder.EnteredCount(call.ChannelId) == 1 && recorder.Fallbacks.Count == 1, "one entry, one fallback");
    }

    [Fact]
    public async Task After_a_SIGKILL_and_a_restart_each_call_of_the_old_process_still_ends_once_with_its_cause()
    {
        var vhost = await rabbit.CreateVirtualHostAsync("ari-restart");
        await using var asterisk = await AsteriskSimulator.StartAsync();
        await using var relay = new FakeRelay();
        var (bus, recorder) = await BusRecorder.StartAsync(vhost);
        await using var _ = bus;
        var settings = Environment(vhost, asterisk);

        await using var first = await StartAsync(settings);
        var inStasis = await asterisk.StartCallAsync(new SimulatedCallOptions { StasisArgs = "ai_agent,1" });
        var inAi = await asterisk.StartCallAsync(new SimulatedCallOptions { StasisArgs = "ai_agent,2" });
        var inDialplan = await asterisk.StartCallAsync(new SimulatedCallOptions { StasisArgs = "queue_timeout,3" });
        var entries = new Dictionary<string, CallEnteredStasis>();
        foreach (var call in new[] { inStasis, inAi, inDialplan })
        {
            entries[call.ChannelId] = await recorder.EnteredAsync(call.ChannelId, Patience);
        }

        var commands = await bus.Bus.GetSendEndpoint(Endpoints.AriIngressAddress(asterisk.Options.AsteriskId));
        var session = Guid.NewGuid();
        await commands.Send(new ConnectToRelay
        {
            CallId = inAi.ChannelId, AsteriskId = asterisk.Options.AsteriskId, SessionId = session, RelayEndpoint = relay.Endpoint,
            EnteredAt = entries[inAi.ChannelId].EnteredAt,
        });
        await commands.Send(new ContinueInDialplan
        {
            CallId = inDialplan.ChannelId, AsteriskId = asterisk.Options.AsteriskId, Context = "queues", Extension = "5001", Reason = "test",
            EnteredAt = entries[inDialplan.ChannelId].EnteredAt,
        });
        await relay.ConnectedAsync(session).Within(Patience, "the AI call to reach the relay");
        await inDialplan.Continued.Within(Patience, "the dialplan call to be continued");

        System.Diagnostics.Process.GetProcessById(first.Pid).Kill();
        await first.Exited.WaitAsync(Patience);
        await Eventually.Until(() => Task.FromResult(asterisk.ConnectedEventSockets), n => n == 0, Patience, "the killed ingress's socket to close");
        await using var second = await StartAsync(settings);
        await Eventually.Until(() => Task.FromResult(second.OutputText), o => o.Contains("ARI resync:", StringComparison.Ordinal), Patience, "the resync");

        await inStasis.HangUpAsync(17);
        await inAi.HangUpAsync(18);
        await inDialplan.HangUpAsync(21);
        foreach (var (call, cause, text) in new[] { (inStasis, 17, "User busy"), (inAi, 18, "No user responding"), (inDialplan, 21, "Call Rejected") })
        {
            var ended = await recorder.EndedAsync(call.ChannelId);
            Assert.True((cause, text) == (ended.Cause, ended.CauseText), $"{call.ChannelId}: {ended.Cause} {ended.CauseText}\n{first.OutputText}\n-----\n{second.OutputText}");
        }

        await IngressCallTests.AssertStaysAsync(() => new[] { inStasis, inAi, inDialplan }.All(c => recorder.EndedCount(c.ChannelId) == 1), "exactly one CallEnded per call");
        Assert.Contains("ARI resync: 3 channels listed, 1 recovered in Stasis, 2 adopted outside Stasis, 0 found ended", second.OutputText, StringComparison.Ordinal);
    }

    private static Dictionary<string, string?> Environment(string rabbitmq, AsteriskSimulator asterisk) => new()
    {
        ["ConnectionStrings__rabbitmq"] = rabbitmq,
        ["Ari__BaseUrl"] = asterisk.BaseUrl,
        ["Ari__Username"] = asterisk.Options.Username,
        ["Ari__Password"] = asterisk.Options.Password,
        ["Ari__ReconnectMaxDelay"] = "00:00:01",

        // Calls here wait for their commands as long as the test likes, unless the test is about the edge.
        ["Ari__EdgeFallbackAfter"] = "00:10:00",
    };

    /// <summary>An ingress process serving and consuming its command queue.</summary>
    private static async Task<ServiceProcess> StartAsync(Dictionary<string, string?> settings)
    {
        var url = $"http://127.0.0.1:{ServiceProcess.FreePort()}";
        var ingress = ServiceProcess.Start("AstraPbx.AriIngress", ["--urls", url], settings);
        await Eventually.Until(() => GrpcHealth.CheckAsync(url), s => s == Status.Serving, Patience, "SERVING\n" + ingress.OutputText);
        await Eventually.Until(() => Task.FromResult(ingress.OutputText), o => o.Contains("consumed from queue", StringComparison.Ordinal), Patience, "the command queue");
        return ingress;
    }
}
