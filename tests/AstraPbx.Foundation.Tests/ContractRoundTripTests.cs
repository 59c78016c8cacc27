using System.Collections.Concurrent;
using System.Text.Json;
using AstraPbx.Contracts.Calls;
using AstraPbx.Contracts.Media;
using AstraPbx.Testing;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace AstraPbx.Foundation.Tests;

public sealed class ContractRoundTripTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private static readonly DateTimeOffset At = new(2026, 11, 25, 10, 30, 15, 123, TimeSpan.Zero);

    /// <summary>One message of every contract type, every field set to a value other than its default.</summary>
    public static TheoryData<string> Contracts => new(Samples.Keys);

    private static readonly Dictionary<string, object> Samples = new()
    {
        [nameof(CallEnteredStasis)] = new CallEnteredStasis
        {
            CallId = "1764000000.42", AsteriskId = "02:42:ac:11:00:02", ChannelName = "PJSIP/1001-00000001",
            StasisArgs = ["queue_timeout", "7"], CallerNumber = "+15551230001", CallerName = "Hari", Extension = "5001",
            Context = "org-1-internal", OrgId = "org-1", Variables = new Dictionary<string, string> { ["ORG_ID"] = "org-1", ["LANG"] = "en" },
            EnteredAt = At, AnsweredAt = At.AddMilliseconds(3), DecideBy = At.AddMilliseconds(2500),
        },
        [nameof(FallbackTaken)] = new FallbackTaken
        {
            Entry = new CallEnteredStasis
            {
                CallId = "c1", AsteriskId = "a1", StasisArgs = ["ai_agent", "3"], Extension = "1003", EnteredAt = At, DecideBy = At.AddMilliseconds(2500),
            },
            DecidedBy = FallbackTaken.DecidedByIngress, Outcome = RouteOutcome.Fallback, Reason = "edge:no-command-within-2500ms",
            Destination = "org-1-internal,5001,1", TakenAt = At.AddMilliseconds(2501),
        },
        [nameof(CallRouted)] = new CallRouted
        {
            CallId = "c1", AsteriskId = "a1", Outcome = RouteOutcome.Fallback, Path = ["queue:5001", "extension:1003"],
            Reason = "user-inactive", Destination = "org-1-internal,1001,1", RoutedAt = At,
        },
        [nameof(CallEnded)] = new CallEnded { CallId = "c1", AsteriskId = "a1", Cause = 16, CauseText = "Normal Clearing", EndedAt = At },
        [nameof(ConnectToRelay)] = new ConnectToRelay
        {
            CallId = "c1", AsteriskId = "a1", SessionId = Guid.Parse("3f2c5a8e-1b7d-4c9e-9a0b-6d4e2f1a8c7b"),
            RelayEndpoint = "10.0.0.7:9092", Context = "audiosocket-ai-try", EnteredAt = At,
        },
        [nameof(ContinueInDialplan)] = new ContinueInDialplan
        {
            CallId = "c1", AsteriskId = "a1", Context = "org-1-internal", Extension = "1001", Priority = 2, Reason = "queue-timeout",
        },
        [nameof(HangupCall)] = new HangupCall { CallId = "c1", AsteriskId = "a1", Reason = "busy" },
        [nameof(StartAiSession)] = new StartAiSession
        {
            CallId = "c1", AsteriskId = "a1", SessionId = Guid.Parse("3f2c5a8e-1b7d-4c9e-9a0b-6d4e2f1a8c7b"),
            GatewayUrl = "wss://bots.example/ws/org/bot?key=ak_test", MediaMode = MediaMode.Twilio, CallerSampleRate = 16000, OrgId = "org-1",
            CallerNumber = "+15551230001", Extension = "1003", ChannelName = "PJSIP/1001-00000001",
            CustomParameters = new Dictionary<string, string> { ["LANG"] = "en" },
        },
        [nameof(RelayCapacity)] = new RelayCapacity
        {
            RelayInstance = "relay-0", Accepting = false, Limiter = "cpu", HeadroomSessions = 0, Sessions = 42, Load = 1.05,
            MeasuredAt = DateTimeOffset.Parse("2026-12-02T20:00:00Z", System.Globalization.CultureInfo.InvariantCulture), ValidFor = TimeSpan.FromSeconds(3),
        },
        [nameof(AiSessionReady)] = new AiSessionReady
        {
            CallId = "c1", AsteriskId = "a1", SessionId = Guid.Parse("3f2c5a8e-1b7d-4c9e-9a0b-6d4e2f1a8c7b"),
            RelayEndpoint = "10.0.0.7:9092", RelayInstance = "relay-0", GatewayConnectMs = 12.5,
        },
        [nameof(AiSessionFailed)] = new AiSessionFailed
        {
            CallId = "c1", AsteriskId = "a1", SessionId = Guid.Parse("3f2c5a8e-1b7d-4c9e-9a0b-6d4e2f1a8c7b"),
            Reason = AiSessionFailure.HandshakeRejected, Detail = "gateway answered 403", RelayInstance = "relay-1",
        },
        [nameof(AiSessionEnded)] = new AiSessionEnded
        {
            CallId = "c1", AsteriskId = "a1", SessionId = Guid.Parse("3f2c5a8e-1b7d-4c9e-9a0b-6d4e2f1a8c7b"),
            EndedBy = SessionEndedBy.Gateway, Reason = "gateway-stop", Duration = TimeSpan.FromSeconds(61.25),
            FramesToGateway = 3062, FramesToCaller = 3063, BytesToGateway = 979840, BytesToCaller = 980160,
            Underruns = 4, FramesTrimmed = 3, FramesTrimmedForSkippedTicks = 1, LateTicks = 2, MaxLatenessMs = 3.5, RelayInstance = "relay-0", EndedAt = At,
        },
    };

    [Theory]
    [MemberData(nameof(Contracts))]
    public async Task Contract_crosses_the_real_broker_with_every_field_intact(string contract)
    {
        var vhost = await rabbit.CreateVirtualHostAsync("contracts");
        var collector = new Collector();
        await using var consumer = await TestBus.StartAsync(vhost, x => x.AddConsumer<EveryContractConsumer>(), s => s.AddSingleton(collector));
        await using var publisher = await TestBus.StartAsync(vhost);

        var sent = Samples[contract];
        await publisher.Bus.Publish(sent, sent.GetType());

        var received = await collector.Next.Task.Within(TimeSpan.FromSeconds(30), contract + " to arrive");
        Assert.IsType(sent.GetType(), received);
        Assert.Equal(JsonSerializer.Serialize(sent, sent.GetType()), JsonSerializer.Serialize(received, received.GetType()));
    }

    [Fact]
    public void Every_contract_type_has_a_sample()
    {
        var types = typeof(CallEnteredStasis).Assembly.GetTypes()
            .Where(t => t.GetCustomAttributes(typeof(MessageUrnAttribute), false).Length > 0)
            .Select(t => t.Name)
            .Order();
        Assert.Equal(types, Samples.Keys.Order());
    }

    [Fact]
    public void Every_contract_pins_a_unique_wire_name()
    {
        var urns = typeof(CallEnteredStasis).Assembly.GetTypes()
            .Select(t => t.GetCustomAttributes(typeof(MessageUrnAttribute), false).OfType<MessageUrnAttribute>().SingleOrDefault())
            .Where(a => a is not null)
            .Select(a => a!.Urn.ToString())
            .ToList();
        Assert.Equal(urns.Count, urns.Distinct().Count());
        Assert.All(urns, u => Assert.StartsWith("urn:message:astrapbx:", u, StringComparison.Ordinal));
    }

    public sealed class Collector
    {
        public TaskCompletionSource<object> Next { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public sealed class EveryContractConsumer(Collector collector) :
        IConsumer<CallEnteredStasis>, IConsumer<CallRouted>, IConsumer<CallEnded>, IConsumer<ConnectToRelay>,
        IConsumer<ContinueInDialplan>, IConsumer<HangupCall>, IConsumer<StartAiSession>, IConsumer<AiSessionReady>,
        IConsumer<AiSessionFailed>, IConsumer<AiSessionEnded>, IConsumer<FallbackTaken>, IConsumer<RelayCapacity>
    {
        private Task Take(object message)
        {
            collector.Next.TrySetResult(message);
            return Task.CompletedTask;
        }

        public Task Consume(ConsumeContext<CallEnteredStasis> context) => Take(context.Message);
        public Task Consume(ConsumeContext<CallRouted> context) => Take(context.Message);
        public Task Consume(ConsumeContext<CallEnded> context) => Take(context.Message);
        public Task Consume(ConsumeContext<ConnectToRelay> context) => Take(context.Message);
        public Task Consume(ConsumeContext<ContinueInDialplan> context) => Take(context.Message);
        public Task Consume(ConsumeContext<HangupCall> context) => Take(context.Message);
        public Task Consume(ConsumeContext<StartAiSession> context) => Take(context.Message);
        public Task Consume(ConsumeContext<AiSessionReady> context) => Take(context.Message);
        public Task Consume(ConsumeContext<AiSessionFailed> context) => Take(context.Message);
        public Task Consume(ConsumeContext<AiSessionEnded> context) => Take(context.Message);
        public Task Consume(ConsumeContext<FallbackTaken> context) => Take(context.Message);

        public Task Consume(ConsumeContext<RelayCapacity> context) => Take(context.Message);
    }
}
