using System.Collections.Concurrent;
using System.Diagnostics;
using AstraPbx.Contracts.Calls;
using AstraPbx.Testing;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace AstraPbx.Foundation.Tests;

public sealed class TraceContextTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    [Fact]
    public async Task Trace_context_published_by_one_bus_is_the_parent_of_the_consumer_span_in_another()
    {
        var vhost = await rabbit.CreateVirtualHostAsync("trace");
        var seen = new SeenTrace();
        using var root = new ActivitySource("AstraPbx.Tests.Trace");
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is "MassTransit" or "AstraPbx.Tests.Trace",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);

        await using var consumer = await TestBus.StartAsync(vhost, x => x.AddConsumer<TraceConsumer>(), s => s.AddSingleton(seen));
        await using var publisher = await TestBus.StartAsync(vhost);

        ActivityTraceId traceId;
        using (var call = root.StartActivity("call", ActivityKind.Server)!)
        {
            traceId = call.TraceId;
            await publisher.Bus.Publish(new CallEnded { CallId = "trace-1", AsteriskId = "a1" });
        }

        var consumed = await seen.Activity.Task.Within(TimeSpan.FromSeconds(30), "the consumer to run");
        Assert.Equal(traceId, consumed.TraceId);

        // The consumer's receive span hangs under the publisher's send span, carried in the message headers.
        var send = spans.Single(s => s.Kind == ActivityKind.Producer && s.TraceId == traceId);
        var receive = Assert.Single(spans, s => s.Kind == ActivityKind.Consumer && s.TraceId == traceId && s.OperationName.Contains("receive", StringComparison.OrdinalIgnoreCase) || (s.Kind == ActivityKind.Consumer && s.ParentSpanId == send.SpanId));
        Assert.Equal(send.SpanId, receive.ParentSpanId);
    }

    public sealed class SeenTrace
    {
        public TaskCompletionSource<ActivityContext> Activity { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public sealed class TraceConsumer(SeenTrace seen) : IConsumer<CallEnded>
    {
        public Task Consume(ConsumeContext<CallEnded> context)
        {
            seen.Activity.TrySetResult(System.Diagnostics.Activity.Current!.Context);
            return Task.CompletedTask;
        }
    }
}
