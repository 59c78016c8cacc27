using System.Diagnostics;
using AstraPbx.AriIngress.Ari;
using AstraPbx.Contracts;
using AstraPbx.Contracts.Calls;
using AstraPbx.ServiceDefaults.Messaging;
using AstraPbx.Simulators.Ari;
using AstraPbx.Testing;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace AstraPbx.AriIngress.Tests;

/// <summary>The ingress hosted in-process against the Asterisk simulator and the real broker: calls in, commands out.</summary>
public sealed class IngressCallTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Call_is_answered_before_CallEnteredStasis_is_published_with_its_caller_data()
    {
        await using var world = await World.StartAsync(rabbit);
        var call = await world.Asterisk.StartCallAsync(new SimulatedCallOptions
        {
            StasisArgs = "ai_agent,3",
            CallerNumber = "0207946000",
            CallerName = "Ada",
            Extension = "1003",
            Context = "org_demo_internal",
            Variables = { ["ORG_ID"] = "org-42" },
        });

        var entered = await world.Recorder.EnteredAsync(call.ChannelId);
        var answeredAt = call.AnswerReceivedTimestamp;
        var publishedAt = world.Recorder.Entered.First(e => e.Message.CallId == call.ChannelId).At;
        Assert.NotEqual(0, answeredAt);
        Assert.True(answeredAt < publishedAt, "the answer request reached Asterisk before CallEnteredStasis reached the bus");
        Assert.Equal("Up", call.State);
        Assert.Equal(["ai_agent", "3"], entered.StasisArgs);
        Assert.Equal(("0207946000", "Ada", "1003", "org_demo_internal"), (entered.CallerNumber, entered.CallerName, entered.Extension, entered.Context));
        Assert.Equal(call.Name, entered.ChannelName);
        Assert.Equal("org-42", entered.OrgId);
        Assert.Equal("org-42", entered.Variables["ORG_ID"]);
        Assert.Equal(world.Asterisk.Options.AsteriskId, entered.AsteriskId);
        Assert.NotNull(entered.AnsweredAt);
        Assert.True(entered.AnsweredAt >= entered.EnteredAt);
    }

    [Fact]
    public async Task Channelvars_in_the_event_are_used_and_other_arguments_are_passed_on()
    {
        await using var world = await World.StartAsync(rabbit);
        var call = await world.Asterisk.StartCallAsync(new SimulatedCallOptions
        {
            StasisArgs = "something_else,x,y",
            Variables = { ["ORG_ID"] = "org-7" },
            IncludeChannelVars = true,
        });

        var entered = await world.Recorder.EnteredAsync(call.ChannelId);
        Assert.Equal(["something_else", "x", "y"], entered.StasisArgs);
        Assert.Equal("org-7", entered.OrgId);
    }

    [Fact]
    public async Task ConnectToRelay_dials_the_relay_and_only_the_real_hangup_ends_the_call_once()
    {
        await using var world = await World.StartAsync(rabbit);
        await using var relay = new FakeRelay();
        var call = await world.Asterisk.StartCallAsync(new SimulatedCallOptions { StasisArgs = "ai_agent,3" });
        await world.Recorder.EnteredAsync(call.ChannelId);

        var session = Guid.NewGuid();
        var command = new ConnectToRelay { CallId = call.ChannelId, AsteriskId = world.AsteriskId, SessionId = session, RelayEndpoint = relay.Endpoint };
        await world.SendAsync(command);
        var socket = await relay.ConnectedAsync(session).Within(Patience, "the simulated Asterisk to dial the relay with the session UUID");
        Assert.Equal(new DialplanTarget("audiosocket-ai", "s", 1), await call.Continued);
        Assert.Equal(session.ToString(), call.Variables["AUDIOSOCKET_UUID"]);
        Assert.Equal(relay.Endpoint, call.Variables["AUDIOSOCKET_SERVICE"]);
        Assert.True(call.Subscribed);
        Assert.Contains(call.Events, e => e.Type == "StasisEnd" && e.Delivered);

        // Redelivered: harmless (already done), the channel is not continued twice and no CallEnded appears.
        await world.SendAsync(command);
        await Eventually.Until(() => Task.FromResult(world.Ingress.Logs.WithEventId(31).Count(l => l.Message.Contains(call.ChannelId, StringComparison.Ordinal))),
            n => n >= 1, Patience, "the redelivered ConnectToRelay to be recognised as done");
        Assert.Equal(0, world.Recorder.EndedCount(call.ChannelId));
        Assert.Single(call.Events, e => e.Type == "StasisEnd");

        // The relay hangs up (0x00): the dialplan runs Hangup(), and exactly one CallEnded follows.
        await FakeRelay.HangUpAsync(socket);
        var end = await call.Ended.Within(Patience, "the channel to end");
        Assert.Equal(SimulatedEndReason.RelayHungUp, end.Reason);
        var ended = await world.Recorder.EndedAsync(call.ChannelId);
        Assert.Equal((16, "Normal Clearing"), (ended.Cause, ended.CauseText));
        await world.Recorder.EnteredAsync(call.ChannelId); // barrier: the bus has delivered what came before
        await AssertStaysAsync(() => world.Recorder.EndedCount(call.ChannelId) == 1, "exactly one CallEnded");
    }

    [Fact]
    public async Task Caller_hangup_after_ConnectToRelay_publishes_one_CallEnded_with_the_cause()
    {
        await using var world = await World.StartAsync(rabbit);
        await using var relay = new FakeRelay();
        var call = await world.Asterisk.StartCallAsync();
        await world.Recorder.EnteredAsync(call.ChannelId);
        var session = Guid.NewGuid();
        await world.SendAsync(new ConnectToRelay { CallId = call.ChannelId, AsteriskId = world.AsteriskId, SessionId = session, RelayEndpoint = relay.Endpoint });
        await call.AudioSocketDialled.Within(Patience, "AudioSocket dialled");

        await call.HangUpAsync(17);
        var ended = await world.Recorder.EndedAsync(call.ChannelId);
        Assert.Equal(17, ended.Cause);
        await AssertStaysAsync(() => world.Recorder.EndedCount(call.ChannelId) == 1, "exactly one CallEnded");
    }

    [Fact]
    public async Task ContinueInDialplan_and_HangupCall_do_what_they_say_and_a_gone_channel_ends_once()
    {
        await using var world = await World.StartAsync(rabbit);
        var queued = await world.Asterisk.StartCallAsync(new SimulatedCallOptions { StasisArgs = "queue_timeout,5" });
        var hungUp = await world.Asterisk.StartCallAsync();
        await world.Recorder.EnteredAsync(queued.ChannelId);
        await world.Recorder.EnteredAsync(hungUp.ChannelId);

        var continueCommand = new ContinueInDialplan { CallId = queued.ChannelId, AsteriskId = world.AsteriskId, Context = "queues", Extension = "5001", Priority = 1, Reason = "test" };
        await world.SendAsync(continueCommand);
        Assert.Equal(new DialplanTarget("queues", "5001", 1), await queued.Continued.Within(Patience, "continue"));
        await world.SendAsync(continueCommand);

        await world.SendAsync(new HangupCall { CallId = hungUp.ChannelId, AsteriskId = world.AsteriskId, Reason = "busy" });
        Assert.Equal(SimulatedEndReason.HungUpByAri, (await hungUp.Ended.Within(Patience, "hangup")).Reason);
        Assert.Equal(17, (await world.Recorder.EndedAsync(hungUp.ChannelId)).Cause);

        // The queued call is still up; its later hangup is seen thanks to the subscription.
        Assert.False(queued.Ended.IsCompleted);
        await queued.HangUpAsync();
        Assert.Equal(16, (await world.Recorder.EndedAsync(queued.ChannelId)).Cause);

        // A command for a channel that is gone becomes CallEnded, once, however often it is redelivered.
        var ghost = new HangupCall { CallId = "1700000000.999", AsteriskId = world.AsteriskId };
        await world.SendAsync(ghost);
        await world.SendAsync(ghost);
        await world.SendAsync(new ConnectToRelay { CallId = ghost.CallId, AsteriskId = world.AsteriskId, SessionId = Guid.NewGuid(), RelayEndpoint = "127.0.0.1:1" });
        var ended = await world.Recorder.EndedAsync(ghost.CallId);
        Assert.Equal(0, ended.Cause);
        await Eventually.Until(() => Task.FromResult(world.Ingress.Logs.WithEventId(31).Count(l => l.Message.Contains(ghost.CallId, StringComparison.Ordinal))),
            n => n >= 2, Patience, "both later commands to find the call ended");
        await AssertStaysAsync(() => world.Recorder.EndedCount(ghost.CallId) == 1 && world.Recorder.EndedCount(hungUp.ChannelId) == 1, "one CallEnded each");
        Assert.Single(queued.Events, e => e.Type == "StasisEnd");
    }

    [Fact]
    public async Task Root_span_and_ARI_http_spans_carry_the_call_id_and_the_trace_reaches_the_bus()
    {
        await using var world = await World.StartAsync(rabbit);
        var call = await world.Asterisk.StartCallAsync(new SimulatedCallOptions { Variables = { ["ORG_ID"] = "o" } });
        await world.Recorder.EnteredAsync(call.ChannelId);
        var traceId = world.Recorder.Entered.First(e => e.Message.CallId == call.ChannelId).TraceId;

        var spans = await Eventually.Until(() => Task.FromResult(world.Ingress.Spans.Snapshot().Where(s => s.TraceId == traceId).ToArray()),
            s => s.Any(a => a.OperationName == "call") && s.Any(a => a.Source.Name.StartsWith("System.Net.Http", StringComparison.Ordinal) || a.OperationName == "System.Net.Http.HttpRequestOut"),
            Patience, "the call's spans");
        var root = Assert.Single(spans, s => s.OperationName == "call");
        Assert.Equal(default, root.ParentSpanId);
        Assert.Equal(call.ChannelId, root.GetTagItem("astrapbx.call_id"));
        var answer = Assert.Single(spans, s => s.OperationName == "ari answer");
        Assert.Equal(call.ChannelId, answer.GetTagItem("astrapbx.call_id"));
        var http = spans.Where(s => s.Kind == ActivityKind.Client && s.GetTagItem("http.request.method") is not null).ToArray();
        Assert.NotEmpty(http);
        Assert.All(http, s => Assert.Equal(call.ChannelId, s.GetTagItem("astrapbx.call_id")));
        Assert.Contains(spans, s => s.Source.Name == "MassTransit" && s.Kind == ActivityKind.Producer);

        Assert.DoesNotContain(world.Asterisk.Options.Password, world.Ingress.Spans.AllText, StringComparison.Ordinal);
        Assert.DoesNotContain(world.Asterisk.Options.Password, world.Ingress.Logs.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ended_calls_are_forgotten_after_the_retention_so_memory_stays_bounded()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var world = await World.StartAsync(rabbit, settings: s => s["Ari:EndedCallRetention"] = "00:01:00",
            services: s => s.AddSingleton<TimeProvider>(time));
        var calls = new List<SimulatedCall>();
        for (var i = 0; i < 3; i++)
        {
            calls.Add(await world.Asterisk.StartCallAsync());
        }

        foreach (var call in calls)
        {
            await world.Recorder.EnteredAsync(call.ChannelId);
            await call.HangUpAsync();
            await world.Recorder.EndedAsync(call.ChannelId);
        }

        // Still remembered within the retention: a late ChannelDestroyed or redelivered command is recognised.
        Assert.Equal(3, world.Ingress.Calls.TrackedCalls);

        time.Advance(TimeSpan.FromMinutes(2));
        var next = await world.Asterisk.StartCallAsync();
        await world.Recorder.EnteredAsync(next.ChannelId);
        Assert.Equal(1, world.Ingress.Calls.TrackedCalls);
    }

    /// <summary>A condition that must hold now and still hold a little later (no late duplicate arrives).</summary>
    internal static async Task AssertStaysAsync(Func<bool> condition, string description)
    {
        Assert.True(condition(), description);
        var until = Stopwatch.StartNew();
        while (until.Elapsed < TimeSpan.FromSeconds(1))
        {
            await Task.Yield();
            await Task.Delay(50);
            Assert.True(condition(), description);
        }
    }
}

/// <summary>One test's world: a fresh vhost, a simulated Asterisk, a recording bus and the ingress.</summary>
internal sealed class World : IAsyncDisposable
{
    public required AsteriskSimulator Asterisk { get; init; }

    public required TestBus Bus { get; init; }

    public required BusRecorder Recorder { get; init; }

    public required IngressHost Ingress { get; init; }

    public string AsteriskId => Asterisk.Options.AsteriskId;

    public static async Task<World> StartAsync(RabbitMqFixture rabbit, AsteriskSimulatorOptions? options = null, Action<Dictionary<string, string?>>? settings = null,
        Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? services = null)
    {
        var vhost = await rabbit.CreateVirtualHostAsync("ari");
        var asterisk = await AsteriskSimulator.StartAsync(options ?? new AsteriskSimulatorOptions { AsteriskId = "02:fc:" + Random.Shared.Next(0x10, 0xff).ToString("x2") + ":00:00:01" });
        var (bus, recorder) = await BusRecorder.StartAsync(vhost);
        var config = IngressHost.Settings(vhost, asterisk);
        settings?.Invoke(config);
        var ingress = await IngressHost.StartAsync(config, services: services);
        await asterisk.WaitForEventSocketAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return new World { Asterisk = asterisk, Bus = bus, Recorder = recorder, Ingress = ingress };
    }

    public async Task SendAsync<T>(T command) where T : class
    {
        var endpoint = await Bus.Bus.GetSendEndpoint(Endpoints.AriIngressAddress(AsteriskId));
        await endpoint.Send(command);
    }

    public async ValueTask DisposeAsync()
    {
        await Ingress.DisposeAsync();
        await Bus.DisposeAsync();
        await Asterisk.DisposeAsync();
    }
}
