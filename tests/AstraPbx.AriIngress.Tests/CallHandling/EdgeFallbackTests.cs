using AstraPbx.AriIngress.Ari;
using AstraPbx.Contracts.Calls;
using Xunit;

namespace AstraPbx.AriIngress.Tests.CallHandling;

/// <summary>The edge fallback on fake time: a Stasis entry with no command by <c>Ari:EdgeFallbackAfter</c> is sent to
/// the configured fallback (or hung up) by the ingress itself, once, and told to Routing with FallbackTaken; a command
/// in time stops it; a call that keeps coming back is hung up; the timer never outlives its entry.</summary>
public sealed class EdgeFallbackTests
{
    private static readonly TimeSpan After = TimeSpan.FromMilliseconds(2500);

    [Fact]
    public async Task No_command_in_time_sends_the_call_to_the_fallback_and_tells_Routing()
    {
        var rig = WithFallback();
        using var counted = new CounterProbe(AriIngressTelemetry.EdgeFallbacks);
        var entered = await rig.EnterAsync("c1");
        Assert.Equal(entered.EnteredAt + After, entered.DecideBy);
        var before = rig.Ari.Requests.Count;

        await rig.AdvanceAsync("c1", After - TimeSpan.FromMilliseconds(1));
        Assert.Equal(before, rig.Ari.Requests.Count);
        Assert.Empty(rig.Publisher.Fallbacks);

        await rig.AdvanceAsync("c1", TimeSpan.FromMilliseconds(1));
        Assert.Equal(
        [
            "POST applications/astrapbx/subscription?eventSource=channel:c1",
            "POST channels/c1/continue?context=reception&extension=100&priority=1",
        ], rig.Ari.Requests.Skip(before));
        var taken = Assert.Single(rig.Publisher.Fallbacks);
        Assert.Same(entered, taken.Entry);
        Assert.Equal((FallbackTaken.DecidedByIngress, RouteOutcome.Fallback, "edge:no-command-within-2500ms", "reception,100,1"),
            (taken.DecidedBy, taken.Outcome, taken.Reason, taken.Destination));
        Assert.Equal(entered.DecideBy, taken.TakenAt);
        var call = rig.Table.Find("c1")!;
        Assert.Equal((false, true, "reception,100,1", (ITimer?)null), (call.InStasis, call.Subscribed, call.ContinuedTo, call.EdgeTimer));
        var line = Assert.Single(rig.Logs.WithEventId(40));
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, line.Level);
        Assert.Equal("Call c1: no command 2500 ms after it entered Stasis; the edge fallback sent it to reception,100,1", line.Message);
        Assert.Equal(1, counted.Count);
        Assert.Equal(["outcome=fallback"], counted.Tags);

        // Much later: nothing more happens for this entry.
        await rig.AdvanceAsync("c1", TimeSpan.FromMinutes(5));
        Assert.Single(rig.Publisher.Fallbacks);
        Assert.Equal(before + 2, rig.Ari.Requests.Count);
    }

    [Fact]
    public async Task Without_a_fallback_the_edge_hangs_up_with_congestion_and_the_hangup_still_ends_the_call()
    {
        var rig = new CallRig();
        await rig.EnterAsync("c1");

        await rig.AdvanceAsync("c1", After);

        Assert.Equal(["POST applications/astrapbx/subscription?eventSource=channel:c1", "DELETE channels/c1?reason=congestion"], rig.Ari.About("c1")[^2..]);
        var taken = Assert.Single(rig.Publisher.Fallbacks);
        Assert.Equal((RouteOutcome.Hangup, "congestion"), (taken.Outcome, taken.Destination));
        Assert.Contains("sent it to a hangup (congestion): no Ari:EdgeFallbackContext is set", Assert.Single(rig.Logs.WithEventId(40)).Message, StringComparison.Ordinal);

        await rig.EventAsync(CallRig.Hangup("ChannelHangupRequest", "c1", 32, soft: true));
        await rig.EventAsync(CallRig.Hangup("ChannelDestroyed", "c1", 34, "Circuit/channel congestion"));
        Assert.Equal(34, Assert.Single(rig.Publisher.Ended).Cause);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_command_in_time_decides_the_entry_and_the_edge_never_fires(bool namesTheEntry)
    {
        var rig = WithFallback();
        var entered = await rig.EnterAsync("c1");
        await rig.AdvanceAsync("c1", After / 2);

        await rig.Commands.ContinueInDialplanAsync(Continue("c1", namesTheEntry ? entered.EnteredAt : null), CancellationToken.None);
        var call = rig.Table.Find("c1")!;
        Assert.Null(call.EdgeTimer);
        Assert.Equal("decided by ContinueInDialplan (queues,5001,1)", call.DecidedBy);

        await rig.AdvanceAsync("c1", TimeSpan.FromMinutes(1));
        Assert.Empty(rig.Publisher.Fallbacks);
        Assert.DoesNotContain(rig.Ari.Requests, r => r.Contains("reception", StringComparison.Ordinal));
        Assert.Empty(rig.Logs.WithEventId(40));
    }

    [Fact]
    public async Task A_late_command_after_the_edge_is_ignored_logged_and_counted()
    {
        var rig = WithFallback();
        using var late = new CounterProbe(AriIngressTelemetry.LateCommands);
        var entered = await rig.EnterAsync("c1");
        await rig.AdvanceAsync("c1", After);
        var before = rig.Ari.Requests.Count;

        await rig.Commands.ConnectToRelayAsync(new ConnectToRelay
        {
            CallId = "c1", AsteriskId = CallRig.AsteriskId, SessionId = Guid.NewGuid(), RelayEndpoint = "10.0.0.7:9092", EnteredAt = entered.EnteredAt,
        }, CancellationToken.None);
        await rig.Commands.HangupAsync(new HangupCall { CallId = "c1", AsteriskId = CallRig.AsteriskId, EnteredAt = entered.EnteredAt }, CancellationToken.None);
        await rig.Commands.ContinueInDialplanAsync(Continue("c1", entered.EnteredAt) with { Context = "reception", Extension = "100" }, CancellationToken.None);

        Assert.Equal(before, rig.Ari.Requests.Count);
        var lines = rig.Logs.WithEventId(37).Select(l => l.Message).ToArray();
        Assert.Equal(3, lines.Length);
        Assert.Equal($"Late ConnectToRelay for call c1 ignored: its entry {entered.EnteredAt:O} was already sent to the fallback (reception,100,1) by the edge", lines[0]);
        Assert.StartsWith("Late HangupCall for call c1 ignored", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("Late ContinueInDialplan for call c1 ignored", lines[2], StringComparison.Ordinal);
        Assert.Equal(3, late.Count);
        Assert.Equal(["command=ConnectToRelay", "command=HangupCall", "command=ContinueInDialplan"], late.Tags);
        Assert.Null(rig.Table.Find("c1")!.RelaySession);
    }

    [Fact]
    public async Task A_command_for_another_entry_is_ignored_and_the_current_entry_stays_covered()
    {
        var rig = WithFallback();
        var entered = await rig.EnterAsync("c1");

        await rig.Commands.HangupAsync(new HangupCall { CallId = "c1", AsteriskId = CallRig.AsteriskId, EnteredAt = entered.EnteredAt - TimeSpan.FromSeconds(40) },
            CancellationToken.None);

        Assert.DoesNotContain(rig.Ari.Requests, r => r.StartsWith("DELETE", StringComparison.Ordinal));
        Assert.Contains($"is not the channel's current entry ({entered.EnteredAt:O})", Assert.Single(rig.Logs.WithEventId(37)).Message, StringComparison.Ordinal);
        await rig.AdvanceAsync("c1", After);
        Assert.Single(rig.Publisher.Fallbacks);
    }

    [Fact]
    public async Task A_command_for_an_entry_another_command_decided_is_ignored_and_a_redelivery_is_already_done()
    {
        var rig = WithFallback();
        var entered = await rig.EnterAsync("c1");
        var command = Continue("c1", entered.EnteredAt);

        await rig.Commands.ContinueInDialplanAsync(command, CancellationToken.None);
        await rig.Commands.ContinueInDialplanAsync(command, CancellationToken.None);
        await rig.Commands.HangupAsync(new HangupCall { CallId = "c1", AsteriskId = CallRig.AsteriskId, EnteredAt = entered.EnteredAt }, CancellationToken.None);

        Assert.Single(rig.Ari.Requests, r => r.Contains("/continue", StringComparison.Ordinal));
        Assert.DoesNotContain(rig.Ari.Requests, r => r.StartsWith("DELETE", StringComparison.Ordinal));
        Assert.Contains("decided by ContinueInDialplan (queues,5001,1)", Assert.Single(rig.Logs.WithEventId(31)).Message, StringComparison.Ordinal);
        Assert.EndsWith("was already decided by ContinueInDialplan (queues,5001,1)", Assert.Single(rig.Logs.WithEventId(37)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_call_that_keeps_coming_back_without_a_command_is_hung_up_after_the_allowed_fallbacks()
    {
        var rig = WithFallback();
        for (var entry = 1; entry <= 3; entry++)
        {
            await rig.EnterAsync("c1");
            await rig.AdvanceAsync("c1", After);

            // The fallback queue times out and the dialplan sends the call back into Stasis.
            await rig.EventAsync(new AriEvent { Type = "StasisEnd", Application = "astrapbx", Channel = new AriChannel { Id = "c1" } });
        }

        Assert.Equal(2, rig.Ari.Requests.Count(r => r.Contains("continue?context=reception", StringComparison.Ordinal)));
        Assert.Equal("DELETE channels/c1?reason=congestion", rig.Ari.About("c1")[^1]);
        Assert.Equal([RouteOutcome.Fallback, RouteOutcome.Fallback, RouteOutcome.Hangup], rig.Publisher.Fallbacks.Select(f => f.Outcome));
        Assert.Equal("edge:no-command-within-2500ms:fallback-taken-2-times", rig.Publisher.Fallbacks.Last().Reason);
        Assert.Equal(2, rig.Logs.WithEventId(40).Count());
        Assert.Contains("already sent it to its target 2 times (Ari:EdgeFallbackMaxPerCall): hung up (congestion) instead of looping",
            Assert.Single(rig.Logs.WithEventId(41)).Message, StringComparison.Ordinal);
        Assert.Equal(3, rig.Publisher.Entered.Count);
    }

    [Fact]
    public async Task The_timer_goes_with_the_call_when_it_hangs_up_or_leaves_Stasis()
    {
        var rig = WithFallback();
        await rig.EnterAsync("hung-up");
        await rig.EnterAsync("left");
        Assert.NotNull(rig.Table.Find("hung-up")!.EdgeTimer);

        await rig.EventAsync(CallRig.Hangup("ChannelDestroyed", "hung-up", 16));
        await rig.EventAsync(new AriEvent { Type = "StasisEnd", Application = "astrapbx", Channel = new AriChannel { Id = "left" } });
        Assert.Null(rig.Table.Find("hung-up")!.EdgeTimer);
        Assert.Null(rig.Table.Find("left")!.EdgeTimer);

        await rig.AdvanceAsync("hung-up", TimeSpan.FromMinutes(1));
        await rig.IdleAsync("left");
        Assert.Empty(rig.Publisher.Fallbacks);
        Assert.DoesNotContain(rig.Ari.Requests, r => r.Contains("subscription", StringComparison.Ordinal) || r.Contains("continue", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Asterisk_failing_is_tried_again_and_a_gone_channel_ends_the_call()
    {
        var rig = WithFallback();
        await rig.EnterAsync("c1");
        await rig.EnterAsync("c2");
        rig.Ari.Reply("POST channels/c1/continue", 503, """{"message":"try later"}""");
        rig.Ari.Reply("POST applications/astrapbx/subscription?eventSource=channel:c2", 422, """{"message":"Event source does not exist"}""");

        await rig.AdvanceAsync("c1", After);
        await rig.IdleAsync("c2");
        Assert.Empty(rig.Publisher.Fallbacks);
        Assert.Contains("ServerError (503) try later; trying again in 1000 ms", Assert.Single(rig.Logs.WithEventId(42)).Message, StringComparison.Ordinal);
        Assert.Equal(("c2", 0), (Assert.Single(rig.Publisher.Ended).CallId, rig.Publisher.Ended.Single().Cause));

        rig.Ari.Reply("POST channels/c1/continue", 204);
        await rig.AdvanceAsync("c1", TimeSpan.FromSeconds(1));
        Assert.Equal("c1", Assert.Single(rig.Publisher.Fallbacks).Entry.CallId);
        Assert.Equal(2, rig.Ari.About("c1").Count(r => r.Contains("/continue", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task With_the_outbound_queue_refusing_everything_the_edge_still_sends_the_call_on()
    {
        var rig = WithFallback();
        rig.Publisher.Full = true;
        await rig.EnterAsync("c1", expectPublished: false);

        await rig.AdvanceAsync("c1", After);

        Assert.Equal("POST channels/c1/continue?context=reception&extension=100&priority=1", rig.Ari.About("c1")[^1]);
        Assert.Collection(rig.Logs.WithEventId(23),
            l => Assert.StartsWith("Call c1: CallEnteredStasis dropped, the outbound queue is full", l.Message, StringComparison.Ordinal),
            l => Assert.StartsWith("Call c1: FallbackTaken dropped, the outbound queue is full", l.Message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_channel_recovered_by_the_resync_is_covered_from_the_moment_it_was_found()
    {
        var rig = WithFallback();
        rig.Ari.Application("astrapbx", "missed").Channel(CallRig.Channel("missed"));
        await rig.Resync.ResyncAsync(CancellationToken.None);
        var entered = Assert.Single(rig.Publisher.Entered);
        Assert.Equal(rig.Time.GetUtcNow(), entered.EnteredAt);

        await rig.AdvanceAsync("missed", After);

        Assert.Same(entered, Assert.Single(rig.Publisher.Fallbacks).Entry);
    }

    [Fact]
    public async Task A_recovered_channel_takes_Routings_answer_to_the_previous_process_and_ignores_a_second_decision()
    {
        var rig = WithFallback();
        rig.Ari.Application("astrapbx", "kept").Channel(CallRig.Channel("kept"));
        await rig.Resync.ResyncAsync(CancellationToken.None);
        var entered = Assert.Single(rig.Publisher.Entered);

        // The previous process's entry, decided by Routing before the restart; redelivered to this process.
        await rig.Commands.ContinueInDialplanAsync(Continue("kept", entered.EnteredAt - TimeSpan.FromSeconds(3)), CancellationToken.None);
        await rig.Commands.HangupAsync(new HangupCall { CallId = "kept", AsteriskId = CallRig.AsteriskId, EnteredAt = entered.EnteredAt }, CancellationToken.None);
        await rig.AdvanceAsync("kept", After);

        Assert.Single(rig.Ari.Requests, r => r.Contains("/continue", StringComparison.Ordinal));
        Assert.DoesNotContain(rig.Ari.Requests, r => r.StartsWith("DELETE", StringComparison.Ordinal));
        Assert.StartsWith("Late HangupCall for call kept ignored", Assert.Single(rig.Logs.WithEventId(37)).Message, StringComparison.Ordinal);
        Assert.Empty(rig.Publisher.Fallbacks);
    }

    [Fact]
    public async Task A_channel_seen_entering_does_not_take_a_command_for_an_earlier_entry()
    {
        var rig = WithFallback();
        var entered = await rig.EnterAsync("c1");

        await rig.Commands.ContinueInDialplanAsync(Continue("c1", entered.EnteredAt - TimeSpan.FromSeconds(3)), CancellationToken.None);

        Assert.DoesNotContain(rig.Ari.Requests, r => r.Contains("/continue", StringComparison.Ordinal));
        Assert.Contains("is not the channel's current entry", Assert.Single(rig.Logs.WithEventId(37)).Message, StringComparison.Ordinal);
    }

    private static CallRig WithFallback() => new(o =>
    {
        o.EdgeFallbackContext = "reception";
        o.EdgeFallbackExtension = "100";
    });

    private static ContinueInDialplan Continue(string callId, DateTimeOffset? enteredAt) => new()
    {
        CallId = callId, AsteriskId = CallRig.AsteriskId, Context = "queues", Extension = "5001", Priority = 1, Reason = "test", EnteredAt = enteredAt,
    };
}
