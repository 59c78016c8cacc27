using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay.Tests.Support;
using AstraPbx.Simulators.AudioSocket;
using AstraPbx.Simulators.Gateway;
using AstraPbx.Testing;
using Microsoft.Extensions.Logging;
using Xunit;

namespace AstraPbx.MediaRelay.Tests;

/// <summary>Spans, metrics and logs of whole calls: the media-session span hangs under the StartAiSession consume
/// span, and the gateway key never reaches a log line or a span.</summary>
public sealed class TelemetryTests(RabbitMqFixture rabbit) : IClassFixture<RabbitMqFixture>
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Gateway_key_never_reaches_a_log_line_or_span_and_the_media_span_is_a_child_of_the_consume_span()
    {
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        var instruments = new ConcurrentDictionary<string, bool>();
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == RelayTelemetry.Name)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        meters.SetMeasurementEventCallback<long>((i, _, _, _) => instruments[i.Name] = true);
        meters.SetMeasurementEventCallback<double>((i, _, _, _) => instruments[i.Name] = true);
        meters.Start();
        var logs = new CapturingLoggerProvider();

        await using var gateway = await FakeGateway.StartAsync(new FakeGatewayOptions { Behavior = GatewayBehavior.Echo });
        await using var rejecting = await FakeGateway.StartAsync(new FakeGatewayOptions { RejectWithStatus = 401 });
        await using (var relay = await RelayHost.StartAsync(rabbit, new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Trace" }, logs: logs))
        {
            var (ready, _) = await relay.PrepareAsync(gateway.Url.ToString(), MediaMode.Twilio);
            var bot = await gateway.NextSession(Long);
            await using (var caller = await relay.DialAsync(ready!.SessionId, new ToneSource()))
            {
                await bot.FirstAudio.Within(Long, "caller audio at the gateway");
                await caller.SendDtmfAsync('7');
                await bot.NextText(t => t.Contains("\"dtmf\""), Long);
                await Wait.Until(() => caller.Received.Count > 5, "audio at the caller");
                await caller.HangUpAsync();
            }

            await relay.Ended(ready.SessionId);
            var (_, failed) = await relay.PrepareAsync(rejecting.Url.ToString());
            Assert.Equal(AiSessionFailure.HandshakeRejected, failed!.Reason);
            var (_, refused) = await relay.PrepareAsync("ws://127.0.0.1:1/ws/x?key=ak_refused_secret&org=1");
            Assert.Equal(AiSessionFailure.Refused, refused!.Reason);

            await Wait.Until(() => spans.Any(s => s.OperationName == "media-session" && Equals(s.GetTagItem("astrapbx.session_id"), ready.SessionId.ToString())), "the media-session span to end");
            var media = spans.First(s => s.OperationName == "media-session" && Equals(s.GetTagItem("astrapbx.session_id"), ready.SessionId.ToString()));
            var parent = spans.FirstOrDefault(s => s.SpanId == media.ParentSpanId);
            Assert.NotNull(parent);
            Assert.Equal("MassTransit", parent!.Source.Name);
            Assert.Equal(ActivityKind.Consumer, parent.Kind);
            Assert.Equal(media.TraceId, parent.TraceId);
            // Linked by context only: the call-long span does not keep the consume span (and its tags) reachable.
            Assert.Null(media.Parent);
            Assert.Equal("Caller", media.GetTagItem("astrapbx.session.ended_by"));
            Assert.Equal(gateway.Url.GetLeftPart(UriPartial.Path) + "?key=***", media.GetTagItem("astrapbx.gateway"));
            await Wait.Until(() => spans.Any(s => s.ParentSpanId == media.SpanId && s.Kind == ActivityKind.Producer), "AiSessionEnded published under the media-session span");
        }

        var lines = logs.Lines.ToArray();
        Assert.Contains(lines, l => l.Contains("key=***"));
        Assert.Contains(lines, l => l.Contains("HandshakeRejected"));
        Assert.DoesNotContain(lines, l => l.Contains("ak_", StringComparison.Ordinal));
        foreach (var span in spans)
        {
            var text = span.DisplayName + " " + span.StatusDescription + " "
                + string.Join(" ", span.TagObjects.Select(t => t.Key + "=" + t.Value))
                + string.Join(" ", span.Events.SelectMany(e => e.Tags.Select(t => t.Key + "=" + t.Value)));
            Assert.DoesNotContain("ak_", text, StringComparison.Ordinal);
        }

        foreach (var name in new[]
        {
            "astrapbx.relay.tick.lateness", "astrapbx.relay.frames.to_caller", "astrapbx.relay.frames.to_gateway",
            "astrapbx.relay.gateway.connect.duration", "astrapbx.relay.sessions.active", "astrapbx.relay.sessions.failed",
        })
        {
            Assert.True(instruments.ContainsKey(name), $"metric {name} recorded");
        }
    }
}
