using System.Collections.Concurrent;
using System.Diagnostics;
using AstraPbx.Contracts.Calls;
using AstraPbx.ServiceDefaults.Messaging;
using AstraPbx.Testing;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Xunit;

namespace AstraPbx.Foundation.Tests.Messaging;

/// <summary>The outbound queue's bound, its stop, and the trace it keeps: on a broker that is down from the start (a
/// port where nothing listens) or on the shared broker.</summary>
public sealed class OutboundQueueTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private const string MeterName = "AstraPbx.Outbound";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Full_queue_drops_counts_by_type_and_logs_the_first_drop_not_every_one()
    {
        await using var bus = await ServiceBus.StartAsync(ServiceBus.NoBroker(), new Dictionary<string, string?>
        {
            ["Messaging:OutboundCapacity"] = "3",
            ["Messaging:PublishAttemptTimeout"] = "00:00:00.300",
        });
        using var dropped = new MetricCollector<long>(bus.Meters, MeterName, "astrapbx.outbound.dropped");

        var flood = Stopwatch.StartNew();
        var accepted = Enumerable.Range(0, 53).Select(i => bus.Outbound.Enqueue(Ended(i), "call-" + i)).ToArray();
        flood.Stop();

        Assert.Equal(Enumerable.Repeat(true, 3).Concat(Enumerable.Repeat(false, 50)), accepted);
        Assert.Equal(3, bus.Outbound.Pending);
        var measurements = dropped.GetMeasurementSnapshot();
        Assert.Equal(50, measurements.Sum(m => m.Value));
        Assert.All(measurements, m => Assert.Equal(nameof(CallEnded), m.Tags["message_type"]));
        Assert.All(measurements, m => Assert.Equal("full", m.Tags["reason"]));

        // The first drop is logged at once; later ones at most once a second (the flood took far less, but a loaded
        // machine may stall it: the bound follows the time it really took).
        var lines = bus.Logged(9101);
        Assert.InRange(lines.Count, 1, 1 + (int)Math.Ceiling(flood.Elapsed.TotalSeconds));
        Assert.Contains("call-3", lines[0].Message, StringComparison.Ordinal);
        Assert.Contains("(3 messages waiting", lines[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_broker_that_refuses_is_logged_once_however_many_attempts_fail()
    {
        await using var bus = await ServiceBus.StartAsync(ServiceBus.NoBroker(), new Dictionary<string, string?>
        {
            ["Messaging:PublishAttemptTimeout"] = "00:00:00.200",
        });
        using var retries = new MetricCollector<long>(bus.Meters, MeterName, "astrapbx.outbound.retries");

        Assert.True(bus.Outbound.Enqueue(Ended(1), "call-1"));
        Assert.True(bus.Outbound.Enqueue(Ended(2), "call-2"));
        await Eventually.Until(() => Task.FromResult(retries.GetMeasurementSnapshot().Sum(m => m.Value)), n => n >= 3, Patience, "three failed attempts");

        var stalled = Assert.Single(bus.Logged(9102));
        Assert.Contains("2 waiting", stalled.Message, StringComparison.Ordinal);
        Assert.All(retries.GetMeasurementSnapshot(), m => Assert.Equal(nameof(CallEnded), m.Tags["message_type"]));
        Assert.Equal(2, bus.Outbound.Pending);
        Assert.DoesNotContain(bus.Logs.GetSnapshot(), r => r.Message.Contains("guest:guest", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Stop_without_a_broker_logs_how_many_were_left_unsent_and_refuses_later_messages()
    {
        var bus = await ServiceBus.StartAsync(ServiceBus.NoBroker(), new Dictionary<string, string?>
        {
            ["Messaging:DrainTimeout"] = "00:00:00.200",
        });
        await using (bus)
        {
            for (var i = 0; i < 4; i++)
            {
                Assert.True(bus.Outbound.Enqueue(Ended(i), "call-" + i));
            }

            await bus.StopAsync();

            var left = Assert.Single(bus.Logged(9106));
            Assert.Contains("4 outbound messages unsent", left.Message, StringComparison.Ordinal);
            Assert.False(bus.Outbound.Enqueue(Ended(9), "call-9"));
            Assert.Contains("call-9", Assert.Single(bus.Logged(9107)).Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Stop_publishes_what_is_queued_before_the_bus_stops()
    {
        const int count = 300;
        var vhost = await rabbit.CreateVirtualHostAsync("outbound-drain");
        var seen = new SeenCalls(count);
        await using var consumer = await TestBus.StartAsync(vhost, x => x.AddConsumer<OrderedCallEndedConsumer, OrderedCallEndedConsumerDefinition>(), s => s.AddSingleton(seen));
        var publisher = await ServiceBus.StartAsync(vhost, new Dictionary<string, string?> { ["Messaging:DrainTimeout"] = "00:00:45" });
        await using (publisher)
        {
            await publisher.WaitHealthyAsync(Patience, "the publisher's bus to connect");
            for (var i = 0; i < count; i++)
            {
                Assert.True(publisher.Outbound.Enqueue(Ended(i), "call-" + i));
            }

            // Stopped at once: most are still queued, and reach the broker only if the stop drains them.
            var pendingAtStop = publisher.Outbound.Pending;
            await publisher.StopAsync();

            Assert.True(pendingAtStop > 0, "the stop came after every message was published; the test proves nothing");
            await seen.All.Within(Patience, $"{count} messages after the stop (pending at stop: {pendingAtStop})");
            Assert.Empty(publisher.Logged(9106));
            Assert.Equal(Enumerable.Range(0, count).Select(i => "call-" + i).Order(), seen.FirstSeenOrder().Order());
            // MassTransit would reopen a connection for a publish after its bus stopped (one never closed cleanly), so
            // the order is checked where it is decided.
            var hosted = publisher.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().ToList();
            Assert.True(hosted.IndexOf(publisher.Outbound) > hosted.FindIndex(h => h is MassTransitHostedService),
                "the outbound queue must be registered after MassTransit's hosted service, so that it stops first");
        }
    }

    [Fact]
    public async Task Publish_is_a_child_of_the_span_current_at_enqueue_even_after_that_span_ended()
    {
        var vhost = await rabbit.CreateVirtualHostAsync("outbound-trace");
        using var source = new ActivitySource("AstraPbx.Tests.Outbound");
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is "MassTransit" or "AstraPbx.Tests.Outbound",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        var seen = new SeenCalls(1);
        await using var consumer = await TestBus.StartAsync(vhost, x => x.AddConsumer<OrderedCallEndedConsumer, OrderedCallEndedConsumerDefinition>(), s => s.AddSingleton(seen));
        await using var publisher = await ServiceBus.StartAsync(vhost);
        await publisher.WaitHealthyAsync(Patience, "the publisher's bus to connect");

        ActivityContext call;
        using (var span = source.StartActivity("call", ActivityKind.Server)!)
        {
            call = span.Context;
            Assert.True(publisher.Outbound.Enqueue(Ended(1), "call-1"));
        }

        await seen.All.Within(Patience, "the message");
        var send = await Eventually.Until(() => Task.FromResult(spans.FirstOrDefault(s => s.Kind == ActivityKind.Producer && s.TraceId == call.TraceId)),
            s => s is not null, Patience, "the publish span");
        Assert.Equal(call.SpanId, send!.ParentSpanId);
        var receive = await Eventually.Until(() => Task.FromResult(spans.FirstOrDefault(s => s.Kind == ActivityKind.Consumer && s.ParentSpanId == send.SpanId)),
            s => s is not null, Patience, "the consumer's span under the publish span");
        Assert.Equal(call.TraceId, receive!.TraceId);
    }

    internal static CallEnded Ended(int i) => new() { CallId = "call-" + i, AsteriskId = "a1" };
}
