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
        var traceId = default(ActivityTraceId);
        // The receive span stops after Consume returns, so the test waits for that stop, not for the consumer alone. It is
        // the consumer-side span started from the message headers: no parent Activity in this process.
        var consumerSpanStopped = new TaskCompletionSource<Activity>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is "MassTransit" or "AstraPbx.Tests.Trace",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = s =>
            {
                spans.Enqueue(s);
                if (s.Kind == ActivityKind.Consumer && s.Parent is null && s.TraceId == traceId)
                    consumerSpanStopped.TrySetResult(s);
            },
        };
        ActivitySource.AddActivityListener(listener);

        await using var consumer = await TestBus.StartAsync(vhost, x => x.AddConsumer<TraceConsumer>(), s => s.AddSingleton(seen));
        await using var publisher = await TestBus.StartAsync(vhost);

        using (var call = root.StartActivity("call", ActivityKind.Server)!)
        {
            traceId = call.TraceId;
            await publisher.Bus.Publish(new CallEnded { CallId = "trace-1", AsteriskId = "a1" });
        }

        var consumed = await seen.Activity.Task.Within(TimeSpan.FromSeconds(30), "the consumer to run");
        Assert.Equal(traceId, consumed.TraceId);

        // The consumer's receive span hangs under the publisher's send span, carried in the message headers.
        var receive = await consumerSpanStopped.Task.Within(TimeSpan.FromSeconds(30), "the consumer's span to stop");
        var send = Assert.Single(spans, s => s.Kind == ActivityKind.Producer && s.TraceId == traceId);
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
