using System.Diagnostics;
using AstraPbx.Contracts.Calls;
using AstraPbx.Contracts.Media;
using AstraPbx.Routing.Data;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.Routing.Tests;

/// <summary>Routing end to end on a real broker and database: CallEnteredStasis in, StartAiSession to a fake relay,
/// commands out to the call's ingress queue, CallRouted published, call records written.</summary>
public sealed class RoutingFlowTests(PostgresFixture postgres, RabbitMqFixture rabbit) : IClassFixture<PostgresFixture>, IClassFixture<RabbitMqFixture>
{
    [Fact]
    public async Task Seed_queue_5001_timeout_goes_to_1003_starts_an_ai_session_and_sends_connect_to_relay_to_the_calls_ingress()
    {
        await using var h = await RoutingHarness.StartAsync(postgres, rabbit);
        var call = RoutingHarness.Call("call-seed", "queue_timeout", "1");

        await h.Bus.Bus.Publish(call);
        var connect = await h.Next<ConnectToRelay>(call.CallId);
        var request = await h.Next<StartAiSession>(call.CallId);
        var routed = await h.Next<CallRouted>(call.CallId);

        Assert.Equal(Seeder.DefaultGatewayUrl, request.GatewayUrl);
        Assert.Equal(MediaMode.AstraPbxBinary, request.MediaMode);
        Assert.Equal(8000, request.CallerSampleRate);
        Assert.Equal("1", request.OrgId);
        Assert.Equal(request.SessionId, connect.SessionId);
        Assert.Equal(RoutingHarness.RelayEndpoint, connect.RelayEndpoint);
        Assert.Equal("audiosocket-ai", connect.Context);
        Assert.Equal(RoutingHarness.AsteriskId, connect.AsteriskId);
        Assert.Equal(RouteOutcome.AiAgent, routed.Outcome);
        Assert.Equal(["queue:5001", "extension:1003", "ai_agent:3"], routed.Path);
        Assert.Equal("ws://127.0.0.1:8765/ws/org-1/bot-1?key=***", routed.Destination);
        var record = await Eventually.Until(() => h.Database.ScalarAsync<string>("SELECT outcome FROM call_records WHERE call_id = 'call-seed'"), o => o is not null, RoutingHarness.Timeout, "the call record's outcome");
        Assert.Equal("ai_agent", record);
        Assert.Equal(connect.SessionId, await h.Database.ScalarAsync<Guid>("SELECT session_id FROM call_records WHERE call_id = 'call-seed'"));
    }

    [Fact]
    public async Task Sip_phone_and_none_destinations_become_continue_and_hangup_and_each_database_change_applies_to_the_next_call()
    {
        await using var h = await RoutingHarness.StartAsync(postgres, rabbit);

        await h.Database.ExecuteAsync("UPDATE queues SET timeout_destination = '1001' WHERE id = 1");
        await h.Bus.Bus.Publish(RoutingHarness.Call("call-sip", "queue_timeout", "1"));
        var sip = await h.Next<ContinueInDialplan>("call-sip");

        await h.Database.ExecuteAsync("UPDATE queues SET timeout_destination = '+4930123', timeout_destination_type = 'phone' WHERE id = 1");
        await h.Bus.Bus.Publish(RoutingHarness.Call("call-phone", "queue_timeout", "1"));
        var phone = await h.Next<ContinueInDialplan>("call-phone");

        await h.Database.ExecuteAsync("UPDATE queues SET timeout_destination = NULL, timeout_destination_type = 'none' WHERE id = 1");
        await h.Bus.Bus.Publish(RoutingHarness.Call("call-none", "queue_timeout", "1"));
        var hangup = await h.Next<HangupCall>("call-none");
        var routed = await h.Next<CallRouted>("call-none");

        Assert.Equal(("org1-internal", "1001", 1), (sip.Context, sip.Extension, sip.Priority));
        Assert.Equal(("org1-outbound", "+4930123"), (phone.Context, phone.Extension));
        Assert.Equal("normal", hangup.Reason);
        Assert.Equal((RouteOutcome.Hangup, "no-timeout-destination"), (routed.Outcome, routed.Reason));
        Assert.Empty(h.Recorder.All<StartAiSession>());
    }

    [Fact]
    public async Task Relay_failure_is_retried_once_with_a_new_session_then_the_call_goes_to_the_fallback()
    {
        await using var h = await RoutingHarness.StartAsync(postgres, rabbit);
        h.Relay.Reply = (_, _) => RelayReply.Failed;

        await h.Bus.Bus.Publish(RoutingHarness.Call("call-failed", "ai_agent", "3"));
        var fallback = await h.Next<ContinueInDialplan>("call-failed");
        var routed = await h.Next<CallRouted>("call-failed");

        var requests = h.Recorder.All<StartAiSession>(m => m.CallId == "call-failed");
        Assert.Equal(2, requests.Count);
        Assert.NotEqual(requests[0].SessionId, requests[1].SessionId);
        Assert.Equal(("org1-internal", "9000", "fallback:ai-session-failed:refused"), (fallback.Context, fallback.Extension, fallback.Reason));
        Assert.Equal((RouteOutcome.Fallback, "ai-session-failed:refused"), (routed.Outcome, routed.Reason));
        Assert.Empty(h.Recorder.All<ConnectToRelay>());
    }

    [Fact]
    public async Task Relay_timeout_is_retried_once_then_the_call_goes_to_the_fallback()
    {
        await using var h = await RoutingHarness.StartAsync(postgres, rabbit, o => o.StartSessionTimeout = TimeSpan.FromMilliseconds(500));
        h.Relay.Reply = (_, _) => RelayReply.Never;

        await h.Bus.Bus.Publish(RoutingHarness.Call("call-timeout", "ai_agent", "3"));
        var fallback = await h.Next<ContinueInDialplan>("call-timeout");

        Assert.Equal(2, h.Recorder.All<StartAiSession>(m => m.CallId == "call-timeout").Count);
        Assert.Equal("fallback:ai-session-failed:timeout", fallback.Reason);
        Assert.Equal(2, await Eventually.Until(() => h.Database.ScalarAsync<int>("SELECT ai_attempts FROM call_records WHERE call_id = 'call-timeout' AND outcome IS NOT NULL"),
            n => n != 0, RoutingHarness.Timeout, "the routed record"));
    }

    [Fact]
    public async Task A_retry_that_succeeds_connects_the_second_session()
    {
        await using var h = await RoutingHarness.StartAsync(postgres, rabbit);
        h.Relay.Reply = (_, n) => n == 1 ? RelayReply.Failed : RelayReply.Ready;

        await h.Bus.Bus.Publish(RoutingHarness.Call("call-retry", "ai_agent", "3"));
        var connect = await h.Next<ConnectToRelay>("call-retry");

        var requests = h.Recorder.All<StartAiSession>(m => m.CallId == "call-retry");
        Assert.Equal(2, requests.Count);
        Assert.Equal(requests[1].SessionId, connect.SessionId);
    }

    [Fact]
    public async Task Without_a_fallback_target_a_failed_route_is_hung_up_with_its_reason()
    {
        await using var h = await RoutingHarness.StartAsync(postgres, rabbit, o => (o.FallbackContext, o.FallbackExtension) = ("", ""));
        await h.Bus.Bus.Publish(RoutingHarness.Call("call-nofallback", "ai_agent", "99"));

        await h.Next<HangupCall>("call-nofallback");
        var routed = await h.Next<CallRouted>("call-nofallback");
        Assert.Equal((RouteOutcome.Hangup, "user-not-found"), (routed.Outcome, routed.Reason));
    }

    [Fact]
    public async Task A_redelivered_call_entered_stasis_never_starts_a_second_session()
    {
        await using var h = await RoutingHarness.StartAsync(postgres, rabbit);
        var call = RoutingHarness.Call("call-dup", "ai_agent", "3");

        await h.Bus.Bus.Publish(call);
        await h.Bus.Bus.Publish(call);
        await h.Recorder.WaitCountAsync<Consumed<CallEnteredStasis>>(c => c.Message.CallId == "call-dup", 2).Within(RoutingHarness.Timeout, "both deliveries consumed");

        Assert.Single(h.Recorder.All<StartAiSession>(m => m.CallId == "call-dup"));
        Assert.Equal(1L, await h.Database.ScalarAsync<long>("SELECT count(*) FROM routing_decisions WHERE call_id = 'call-dup'"));
    }

    [Fact]
    public async Task A_relay_failure_after_connect_reenters_as_ai_failed_and_goes_to_the_fallback()
    {
        await using var h = await RoutingHarness.StartAsync(postgres, rabbit);
        var first = RoutingHarness.Call("call-aifailed", "ai_agent", "3");
        await h.Bus.Bus.Publish(first);
        var connect = await h.Next<ConnectToRelay>(first.CallId);

        await h.Bus.Bus.Publish(first with { StasisArgs = ["ai_failed", connect.SessionId.ToString()], EnteredAt = first.EnteredAt.AddSeconds(3), Extension = "s" });
        var fallback = await h.Next<ContinueInDialplan>(first.CallId);

        Assert.Equal("fallback:relay-failed", fallback.Reason);
        var entries = await Eventually.Until(() => h.Database.ScalarAsync<string>("SELECT stasis_entries || ':' || outcome || ':' || extension FROM call_records WHERE call_id = 'call-aifailed'"),
            v => v == "2:fallback:5001", RoutingHarness.Timeout, "the record of both entries");
        Assert.Equal("2:fallback:5001", entries);
    }

    [Theory]
    [InlineData(SessionEndedBy.Gateway, "gateway-stop", false)]
    [InlineData(SessionEndedBy.Gateway, "gateway-failed", true)]
    public async Task A_wideband_call_dials_the_16_kHz_context_and_comes_back_as_ai_ended_to_a_hangup_or_the_fallback(SessionEndedBy endedBy, string reason, bool toFallback)
    {
        await using var h = await RoutingHarness.StartAsync(postgres, rabbit);
        var first = RoutingHarness.Call("call-wide-" + reason, "ai_agent", "4");
        await h.Bus.Bus.Publish(first);
        var connect = await h.Next<ConnectToRelay>(first.CallId);
        Assert.Equal("audiosocket-ai-16", connect.Context);
        Assert.Equal(16000, h.Recorder.All<StartAiSession>(m => m.CallId == first.CallId).Single().CallerSampleRate);

        // The relay's AiSessionEnded and the call's return race; Routing waits for the ending.
        await h.Bus.Bus.Publish(first with { StasisArgs = ["ai_ended", connect.SessionId.ToString()], EnteredAt = first.EnteredAt.AddSeconds(3), Extension = "s" });
        await h.Bus.Bus.Publish(new AiSessionEnded
        {
            CallId = first.CallId, AsteriskId = first.AsteriskId, SessionId = connect.SessionId, EndedBy = endedBy, Reason = reason,
            RelayInstance = "fake-relay", EndedAt = first.EnteredAt.AddSeconds(3),
        });

        if (toFallback)
        {
            Assert.Equal("fallback:ai-session-failed:" + reason, (await h.Next<ContinueInDialplan>(first.CallId)).Reason);
        }
        else
        {
            await h.Next<HangupCall>(first.CallId);
        }
    }

    [Fact]
    public async Task A_call_that_comes_back_from_the_fallback_unrouted_is_hung_up_rather_than_sent_round_again()
    {
        await using var h = await RoutingHarness.StartAsync(postgres, rabbit);
        h.Relay.Reply = (_, _) => RelayReply.Failed;
        var first = RoutingHarness.Call("call-circle", "queue_timeout", "1");

        await h.Bus.Bus.Publish(first);
        var fallback = await h.Next<ContinueInDialplan>(first.CallId);
        await Eventually.Until(() => h.Database.ScalarAsync<string>("SELECT outcome FROM routing_decisions WHERE call_id = 'call-circle'"), o => o is not null, RoutingHarness.Timeout, "the first decision recorded");
        await h.Bus.Bus.Publish(first with { EnteredAt = first.EnteredAt.AddSeconds(31) });
        await h.Next<HangupCall>(first.CallId);

        Assert.Equal("fallback:ai-session-failed:refused", fallback.Reason);
        await h.Recorder.WaitCountAsync<CallRouted>(m => m.CallId == first.CallId, 2).Within(RoutingHarness.Timeout, "both decisions published");
        var routed = h.Recorder.All<CallRouted>(m => m.CallId == first.CallId);
        // The second entry is routed afresh (the AI agent is tried again: it may be back), and only its failure ends the call.
        Assert.Equal((RouteOutcome.Hangup, "fallback-already-taken:ai-session-failed:refused"), (routed[1].Outcome, routed[1].Reason));
        Assert.Equal(4, h.Recorder.All<StartAiSession>(m => m.CallId == first.CallId).Count);
    }

    [Fact]
    public async Task A_reentry_from_a_queue_the_call_already_timed_out_of_is_a_loop()
    {
        await using var h = await RoutingHarness.StartAsync(postgres, rabbit);
        // 5001 times out to 5052 (someone can answer there); 5052 times out back to 5001.
        await h.Database.ExecuteAsync("""
            INSERT INTO queues (id, organization_id, number, name, strategy, member_ring_seconds, max_wait_seconds, timeout_destination, timeout_destination_type)
                VALUES (52, 1, '5052', 'overflow', 'linear', 15, 31, '5001', 'queue');
            INSERT INTO queue_members (queue_id, user_id, position, penalty) VALUES (52, 1, 1, 0);
            UPDATE queues SET timeout_destination = '5052', timeout_destination_type = 'queue' WHERE id = 1;
            """);
        var first = RoutingHarness.Call("call-loop", "queue_timeout", "1");

        await h.Bus.Bus.Publish(first);
        var toOverflow = await h.Next<ContinueInDialplan>(first.CallId);
        await Eventually.Until(() => h.Database.ScalarAsync<string>("SELECT outcome FROM routing_decisions WHERE call_id = 'call-loop'"), o => o is not null, RoutingHarness.Timeout, "the first decision recorded");
        await h.Bus.Bus.Publish(first with { StasisArgs = ["queue_timeout", "52"], EnteredAt = first.EnteredAt.AddSeconds(31) });
        await h.Recorder.WaitCountAsync<CallRouted>(m => m.CallId == first.CallId, 2).Within(RoutingHarness.Timeout, "both decisions published");

        // The second entry is resolved with the queue the first timed out of (the early resolution does not know it).
        Assert.Equal("5052", toOverflow.Extension);
        var second = h.Recorder.All<CallRouted>(m => m.CallId == first.CallId)[1];
        Assert.Equal((RouteOutcome.Fallback, "loop"), (second.Outcome, second.Reason));
    }

    [Fact]
    public async Task Duplicate_and_out_of_order_events_give_one_correct_call_record()
    {
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "MassTransit",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        await using var h = await RoutingHarness.StartAsync(postgres, rabbit);
        var t0 = new DateTimeOffset(2026, 11, 25, 1, 0, 0, TimeSpan.Zero);
        var call = RoutingHarness.Call("call-record", "ai_agent", "3") with { EnteredAt = t0, AnsweredAt = t0.AddMilliseconds(40) };
        // The relay's end-of-session event, twice, overtakes its own Ready reply.
        h.Relay.BeforeReply = async context =>
        {
            var ended = new AiSessionEnded
            {
                CallId = call.CallId, AsteriskId = call.AsteriskId, SessionId = context.Message.SessionId, EndedBy = SessionEndedBy.Caller,
                Reason = "caller-closed", Duration = TimeSpan.FromSeconds(55), FramesToGateway = 2750, FramesToCaller = 2749, BytesToGateway = 880000,
                BytesToCaller = 879680, Underruns = 3, FramesTrimmed = 2, FramesTrimmedForSkippedTicks = 1, LateTicks = 1, MaxLatenessMs = 4.5, RelayInstance = "fake-relay", EndedAt = t0.AddSeconds(59),
            };
            await context.Publish(ended);
            await context.Publish(ended);
        };

        // The hangup overtakes everything; its duplicate comes last with a later time and another cause.
        await h.Bus.Bus.Publish(new CallEnded { CallId = call.CallId, AsteriskId = call.AsteriskId, Cause = 16, CauseText = "Normal Clearing", EndedAt = t0.AddSeconds(60) });
        await h.Recorder.WaitAsync<Consumed<CallEnded>>(c => c.Message.CallId == call.CallId).Within(RoutingHarness.Timeout, "the first CallEnded");
        await h.Bus.Bus.Publish(call);
        var connect = await h.Next<ConnectToRelay>(call.CallId);
        await h.Bus.Bus.Publish(new CallEnded { CallId = call.CallId, AsteriskId = call.AsteriskId, Cause = 17, CauseText = "User busy", EndedAt = t0.AddSeconds(61) });
        await h.Bus.Bus.Publish(call);
        await Task.WhenAll(
            h.Recorder.WaitCountAsync<Consumed<CallEnded>>(c => c.Message.CallId == call.CallId, 2),
            h.Recorder.WaitCountAsync<Consumed<AiSessionEnded>>(c => c.Message.CallId == call.CallId, 2),
            h.Recorder.WaitCountAsync<Consumed<CallEnteredStasis>>(c => c.Message.CallId == call.CallId, 2)).Within(RoutingHarness.Timeout, "every event consumed");
        await Eventually.Until(() => h.Database.ScalarAsync<string>("SELECT outcome FROM call_records WHERE call_id = 'call-record'"), o => o is not null, RoutingHarness.Timeout, "the routed record");

        Assert.Equal(1L, await h.Database.ScalarAsync<long>("SELECT count(*) FROM call_records WHERE call_id = 'call-record'"));
        var row = await h.Database.ScalarAsync<string>("""
            SELECT concat_ws('|', entered_at = '2026-11-25T01:00:00Z', ended_at = '2026-11-25T01:01:00Z', hangup_cause, hangup_cause_text, outcome, route_reason,
                   session_id, frames_to_gateway, frames_to_caller, underruns, frames_trimmed, frames_trimmed_for_skipped_ticks, ai_ended_by, ai_duration_ms, call_duration_ms, stasis_entries, ai_attempts,
                   relay_endpoint, length(trace_id))
            FROM call_records WHERE call_id = 'call-record'
            """);
        Assert.Equal($"t|t|16|Normal Clearing|ai_agent|ok|{connect.SessionId}|2750|2749|3|2|1|caller|55000|60000|1|1|{RoutingHarness.RelayEndpoint}|32", row);
    }

    [Fact]
    public async Task Npgsql_spans_hang_under_the_routing_consume_span_in_the_calls_trace()
    {
        var spans = new System.Collections.Concurrent.ConcurrentBag<Activity>();
        using var source = new ActivitySource("AstraPbx.Tests.Ingress");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is "Npgsql" or "MassTransit" or "AstraPbx.Tests.Ingress",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);
        await using var h = await RoutingHarness.StartAsync(postgres, rabbit);

        ActivityTraceId traceId;
        using (var root = source.StartActivity("StasisStart", ActivityKind.Server))
        {
            traceId = root!.TraceId;
            await h.Bus.Bus.Publish(RoutingHarness.Call("call-trace", "ai_agent", "3"));
        }

        await h.Next<ConnectToRelay>("call-trace");
        var trace = await Eventually.Until(
            () => Task.FromResult(spans.Where(s => s.TraceId == traceId).ToList()),
            l => l.Any(s => s.Source.Name == "Npgsql") && l.Any(s => s.Kind == ActivityKind.Consumer && s.DisplayName.Contains("call-entered-stasis", StringComparison.Ordinal)),
            RoutingHarness.Timeout, "Npgsql and consume spans in the call's trace");
        var bySpan = trace.ToDictionary(s => s.SpanId);
        var consume = trace.Where(s => s.Source.Name == "MassTransit" && s.Kind == ActivityKind.Consumer && s.DisplayName.Contains("call-entered-stasis", StringComparison.Ordinal)).ToList();
        Assert.True(consume.Count > 0, string.Join("\n", trace.Select(s => $"{s.Source.Name} {s.Kind} {s.DisplayName} {s.SpanId} <- {s.ParentSpanId}")));
        var underConsume = trace.Where(s => s.Source.Name == "Npgsql" && Ancestors(s, bySpan).Any(a => consume.Contains(a))).ToList();
        Assert.NotEmpty(underConsume);
        Assert.All(trace.SelectMany(s => s.TagObjects), t => Assert.DoesNotContain("ak_demo_key", t.Value?.ToString() ?? "", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_endpoints_whose_loss_loses_a_call_or_its_record_are_quorum_queues()
    {
        await using var h = await RoutingHarness.StartAsync(postgres, rabbit);
        var factory = new RabbitMQ.Client.ConnectionFactory { Uri = new Uri(h.VirtualHost) };
        await using var connection = await factory.CreateConnectionAsync();
        var quorum = new Dictionary<string, object?> { ["x-queue-type"] = "quorum" };
        var classic = new Dictionary<string, object?> { ["x-queue-type"] = "classic" };

        foreach (var queue in new[] { "call-entered-stasis", "call-ended", "ai-session-ended", "fallback-taken" })
        {
            // RabbitMQ accepts a re-declaration only with the queue's own type; the classic one must be refused.
            await using (var channel = await connection.CreateChannelAsync())
            {
                await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments: quorum);
            }

            await using (var channel = await connection.CreateChannelAsync())
            {
                await Assert.ThrowsAsync<RabbitMQ.Client.Exceptions.OperationInterruptedException>(
                    () => channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments: classic));
            }
        }
    }

    private static IEnumerable<Activity> Ancestors(Activity span, Dictionary<ActivitySpanId, Activity> bySpan)
    {
        for (var current = span; bySpan.TryGetValue(current.ParentSpanId, out var parent); current = parent)
        {
            yield return parent;
        }
    }
}
