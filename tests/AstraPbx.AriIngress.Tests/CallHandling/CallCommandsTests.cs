using AstraPbx.AriIngress.Ari;
using AstraPbx.AriIngress.Calls;
using AstraPbx.Contracts.Calls;
using Xunit;

namespace AstraPbx.AriIngress.Tests.CallHandling;

/// <summary>The commands do what they say once, and settle ARI's answers: a gone channel becomes one CallEnded, 409
/// means already done, anything else throws for the consumer's retry.</summary>
public sealed class CallCommandsTests
{
    private static readonly Guid Session = Guid.Parse("0b1c6a6e-4b7e-4f0e-9d0e-1e2f3a4b5c6d");

    [Fact]
    public async Task ConnectToRelay_sets_the_variables_subscribes_and_continues_once()
    {
        var rig = new CallRig();
        rig.Published("c1");

        await rig.Commands.ConnectToRelayAsync(Connect("c1"), CancellationToken.None);
        await rig.Commands.ConnectToRelayAsync(Connect("c1"), CancellationToken.None);

        Assert.Equal(
        [
            $"POST channels/c1/variable?variable=AUDIOSOCKET_UUID&value={Session}",
            "POST channels/c1/variable?variable=AUDIOSOCKET_SERVICE&value=10.0.0.7:9092",
            "POST applications/astrapbx/subscription?eventSource=channel:c1",
            "POST channels/c1/continue?context=audiosocket-ai&extension=s&priority=1",
        ], rig.Ari.Requests);
        var call = rig.Table.Find("c1")!;
        Assert.Equal((Session, "audiosocket-ai,s,1", false, true), (call.RelaySession, call.ContinuedTo, call.InStasis, call.Subscribed));
        Assert.Contains("session " + Session, Assert.Single(rig.Logs.WithEventId(31)).Message, StringComparison.Ordinal);
        Assert.Empty(rig.Publisher.Ended);
    }

    [Fact]
    public async Task ConnectToRelay_sends_the_variables_and_the_subscription_together_and_continues_after_all_three()
    {
        var rig = new CallRig();
        rig.Published("c1");
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        rig.Ari.Hold("POST channels/c1/variable", release.Task).Hold("POST applications/astrapbx/subscription", release.Task);

        var connecting = rig.Commands.ConnectToRelayAsync(Connect("c1"), CancellationToken.None);

        // Both held at once: the subscription did not wait for the variables' replies.
        await Task.WhenAll(rig.Ari.Held("POST channels/c1/variable"), rig.Ari.Held("POST applications/astrapbx/subscription"))
            .WaitAsync(TimeSpan.FromSeconds(10));
        Assert.DoesNotContain(rig.Ari.Requests, r => r.Contains("/continue", StringComparison.Ordinal));
        release.SetResult();
        await connecting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(4, rig.Ari.Requests.Count);
        Assert.Equal("POST channels/c1/continue?context=audiosocket-ai&extension=s&priority=1", rig.Ari.Requests.Last());
    }

    [Fact]
    public async Task ContinueInDialplan_subscribes_once_and_a_repeated_target_is_already_done()
    {
        var rig = new CallRig();
        rig.Published("c1");
        var command = new ContinueInDialplan { CallId = "c1", AsteriskId = CallRig.AsteriskId, Context = "queues", Extension = "5001", Priority = 1, Reason = "test" };

        await rig.Commands.ContinueInDialplanAsync(command, CancellationToken.None);
        await rig.Commands.ContinueInDialplanAsync(command, CancellationToken.None);
        await rig.Commands.ContinueInDialplanAsync(command with { Context = "voicemail" }, CancellationToken.None);

        Assert.Equal(
        [
            "POST applications/astrapbx/subscription?eventSource=channel:c1",
            "POST channels/c1/continue?context=queues&extension=5001&priority=1",
            "POST channels/c1/continue?context=voicemail&extension=5001&priority=1",
        ], rig.Ari.Requests);
        Assert.Equal("voicemail,5001,1", rig.Table.Find("c1")!.ContinuedTo);
        Assert.Single(rig.Logs.WithEventId(31));
    }

    [Fact]
    public async Task HangupCall_hangs_up_with_the_reason_or_normal()
    {
        var rig = new CallRig();
        rig.Published("c1");
        rig.Published("c2");

        await rig.Commands.HangupAsync(new HangupCall { CallId = "c1", AsteriskId = CallRig.AsteriskId, Reason = "busy" }, CancellationToken.None);
        await rig.Commands.HangupAsync(new HangupCall { CallId = "c2", AsteriskId = CallRig.AsteriskId }, CancellationToken.None);

        Assert.Equal(["DELETE channels/c1?reason=busy", "DELETE channels/c2?reason=normal"], rig.Ari.Requests);

        // The hangup events, not the command, end the call.
        Assert.Empty(rig.Publisher.Ended);
        Assert.False(rig.Table.Find("c1")!.Ended);
    }

    [Theory]
    [InlineData("POST channels/c1/variable", 404)]
    [InlineData("POST applications/astrapbx/subscription", 422)]
    [InlineData("POST channels/c1/continue", 404)]
    public async Task A_gone_channel_ends_the_call_once_and_later_commands_find_it_ended(string failing, int status)
    {
        var rig = new CallRig();
        rig.Published("c1");
        rig.Ari.Reply(failing, status, """{"message":"Channel not found"}""");

        await rig.Commands.ConnectToRelayAsync(Connect("c1"), CancellationToken.None);
        var requests = rig.Ari.Requests.Count;
        await rig.Commands.HangupAsync(new HangupCall { CallId = "c1", AsteriskId = CallRig.AsteriskId }, CancellationToken.None);
        await rig.Commands.ConnectToRelayAsync(Connect("c1"), CancellationToken.None);

        var ended = Assert.Single(rig.Publisher.Ended);
        Assert.Equal(("c1", 0, "channel gone"), (ended.CallId, ended.Cause, ended.CauseText));
        Assert.Equal(requests, rig.Ari.Requests.Count);
        Assert.Equal(2, rig.Logs.WithEventId(31).Count(l => l.Message.Contains("call ended", StringComparison.Ordinal)));
        Assert.Null(rig.Table.Find("c1")!.RelaySession);
    }

    [Fact]
    public async Task A_command_for_a_call_never_seen_whose_channel_is_gone_still_publishes_CallEnded()
    {
        var rig = new CallRig();
        rig.Ari.Reply("DELETE channels/ghost", 404, """{"message":"Channel not found"}""");

        await rig.Commands.HangupAsync(new HangupCall { CallId = "ghost", AsteriskId = CallRig.AsteriskId }, CancellationToken.None);

        Assert.Equal(0, Assert.Single(rig.Publisher.Ended).Cause);
        Assert.True(rig.Table.Find("ghost")!.Ended);
    }

    [Fact]
    public async Task A_channel_out_of_Stasis_409_is_settled_as_already_done()
    {
        var rig = new CallRig();
        rig.Published("c1");
        rig.Ari.Reply("POST channels/c1/variable", 409, """{"message":"Channel not in Stasis application"}""");

        await rig.Commands.ConnectToRelayAsync(Connect("c1"), CancellationToken.None);

        // The variables and the subscription go out together; the 409 stops the command before continue.
        Assert.DoesNotContain(rig.Ari.Requests, r => r.Contains("/continue", StringComparison.Ordinal));
        var call = rig.Table.Find("c1")!;
        Assert.Equal((false, false, (Guid?)null), (call.InStasis, call.Ended, call.RelaySession));
        Assert.Contains("channel not in Stasis", Assert.Single(rig.Logs.WithEventId(31)).Message, StringComparison.Ordinal);
        Assert.Empty(rig.Publisher.Ended);
    }

    [Theory]
    [InlineData(500)]
    [InlineData(503)]
    [InlineData(401)]
    public async Task A_failure_Asterisk_did_not_judge_throws_for_the_retry(int status)
    {
        var rig = new CallRig();
        rig.Published("c1");
        rig.Ari.Reply("POST channels/c1/continue", status, """{"message":"try later"}""");

        var failure = await Assert.ThrowsAsync<AriUnavailableException>(() => rig.Commands.ConnectToRelayAsync(Connect("c1"), CancellationToken.None));

        Assert.Equal(("c1", status), (failure.Result.ChannelId, failure.Result.HttpStatus));
        Assert.Single(rig.Logs.WithEventId(33));
        var call = rig.Table.Find("c1")!;
        Assert.Equal((false, (Guid?)null), (call.Ended, call.RelaySession));
        Assert.Empty(rig.Publisher.Ended);

        // The retry carries on: the subscription made before the failure is not made again.
        rig.Ari.Reply("POST channels/c1/continue", 204);
        await rig.Commands.ConnectToRelayAsync(Connect("c1"), CancellationToken.None);
        Assert.Single(rig.Ari.Requests, r => r.StartsWith("POST applications/", StringComparison.Ordinal));
        Assert.Equal(Session, call.RelaySession);
    }

    [Fact]
    public async Task A_command_for_another_Asterisk_is_logged_and_still_carried_out()
    {
        var rig = new CallRig();
        rig.Published("c1");

        await rig.Commands.HangupAsync(new HangupCall { CallId = "c1", AsteriskId = "02:fc:00:00:00:99" }, CancellationToken.None);

        Assert.Contains("02:fc:00:00:00:99", Assert.Single(rig.Logs.WithEventId(36)).Message, StringComparison.Ordinal);
        Assert.Equal(["DELETE channels/c1?reason=normal"], rig.Ari.Requests);
    }

    [Fact]
    public async Task A_command_naming_an_entry_for_a_call_this_process_never_saw_enter_is_carried_out()
    {
        var rig = new CallRig();

        // The ingress restarted: the call is unknown, or adopted by the resync with no entry of its own.
        await rig.Commands.HangupAsync(new HangupCall { CallId = "c1", AsteriskId = CallRig.AsteriskId, EnteredAt = rig.Time.GetUtcNow() }, CancellationToken.None);

        Assert.Equal(["DELETE channels/c1?reason=normal"], rig.Ari.Requests);
        Assert.Empty(rig.Logs.WithEventId(37));
    }

    private static ConnectToRelay Connect(string callId) =>
        new() { CallId = callId, AsteriskId = CallRig.AsteriskId, SessionId = Session, RelayEndpoint = "10.0.0.7:9092" };
}
