using AstraPbx.AriIngress.Ari;
using Xunit;

namespace AstraPbx.AriIngress.Tests.CallHandling;

/// <summary>Each ARI event type reaches the part that handles it; what is not ours, unknown or malformed is skipped.</summary>
public sealed class CallCoordinatorTests
{
    [Fact]
    public async Task StasisStart_of_our_application_answers_and_publishes_the_call()
    {
        var rig = new CallRig();
        await rig.EventAsync(CallRig.StasisStart("c1"));

        var entered = Assert.Single(rig.Publisher.Entered);
        Assert.Equal(("c1", CallRig.AsteriskId), (entered.CallId, entered.AsteriskId));
        Assert.Equal(["ai_agent", "3"], entered.StasisArgs);
        Assert.Equal("POST channels/c1/answer", rig.Ari.About("c1")[0]);
    }

    [Fact]
    public async Task StasisStart_for_another_application_is_ignored()
    {
        var rig = new CallRig();
        await rig.EventAsync(CallRig.StasisStart("c1", application: "other-app"));

        Assert.Equal(0, rig.Table.TrackedCalls);
        Assert.Empty(rig.Ari.Requests);
        Assert.Empty(rig.Publisher.Entered);
    }

    [Fact]
    public void Unknown_event_is_counted_and_skipped()
    {
        var rig = new CallRig();
        using var skipped = new CounterProbe(AriIngressTelemetry.SkippedEvents);
        rig.Coordinator.OnEvent(new AriEvent { Type = "SomethingNew", Channel = new AriChannel { Id = "c1" } }, 0);

        Assert.Equal(1, skipped.Count);
        Assert.Contains("SomethingNew", Assert.Single(rig.Logs.WithEventId(6)).Message, StringComparison.Ordinal);
        Assert.Equal(0, rig.Table.TrackedCalls);
        Assert.Empty(rig.Ari.Requests);
    }

    [Fact]
    public void Known_event_types_that_change_nothing_are_neither_counted_nor_logged()
    {
        var rig = new CallRig();
        rig.Published("c1");
        using var skipped = new CounterProbe(AriIngressTelemetry.SkippedEvents);
        foreach (var type in new[] { "ChannelStateChange", "ChannelVarset", "ChannelDialplan", "ChannelDtmfReceived", "ApplicationReplaced" })
        {
            rig.Coordinator.OnEvent(new AriEvent { Type = type, Channel = new AriChannel { Id = "c1" } }, 0);
        }

        Assert.Equal(0, skipped.Count);
        Assert.Empty(rig.Logs.Entries);
        Assert.Empty(rig.Ari.Requests);
    }

    [Fact]
    public void StasisStart_without_a_channel_id_is_counted_and_skipped()
    {
        var rig = new CallRig();
        using var skipped = new CounterProbe(AriIngressTelemetry.SkippedEvents);
        rig.Coordinator.OnEvent(new AriEvent { Type = "StasisStart", Application = "astrapbx", Args = [] }, 0);

        Assert.Equal(1, skipped.Count);
        Assert.Contains("'StasisStart' without channel.id", Assert.Single(rig.Logs.WithEventId(5)).Message, StringComparison.Ordinal);
        Assert.Equal(0, rig.Table.TrackedCalls);
    }

    [Fact]
    public async Task The_cause_comes_from_ChannelDestroyed_not_from_the_soft_hangup_request_after_our_DELETE()
    {
        var rig = new CallRig();
        rig.Published("c1");

        // What Asterisk sends after the ingress's own DELETE (PROTOCOLS.md): 32 is the soft-hangup flag.
        await rig.EventAsync(CallRig.Hangup("ChannelHangupRequest", "c1", 32, soft: true));
        Assert.Empty(rig.Publisher.Ended);
        await rig.EventAsync(CallRig.Hangup("ChannelDestroyed", "c1", 16, "Normal Clearing"));
        await rig.EventAsync(CallRig.Hangup("ChannelDestroyed", "c1", 16, "Normal Clearing"));

        var ended = Assert.Single(rig.Publisher.Ended);
        Assert.Equal(("c1", CallRig.AsteriskId, 16, "Normal Clearing"), (ended.CallId, ended.AsteriskId, ended.Cause, ended.CauseText));
        Assert.True(rig.Table.Find("c1")!.Ended);
    }

    [Fact]
    public async Task A_hangup_request_only_marks_who_asked_and_does_not_end_the_call()
    {
        var rig = new CallRig();
        rig.Published("c1");

        await rig.EventAsync(CallRig.Hangup("ChannelHangupRequest", "c1", 17));

        Assert.Empty(rig.Publisher.Ended);
        var call = rig.Table.Find("c1")!;
        Assert.False(call.Ended);
        Assert.Equal("cause 17", call.HangupRequest);

        await rig.EventAsync(CallRig.Hangup("ChannelDestroyed", "c1", 17));
        var ended = Assert.Single(rig.Publisher.Ended);
        Assert.Equal((17, "User busy"), (ended.Cause, ended.CauseText));
    }

    [Fact]
    public async Task ChannelDestroyed_carries_its_own_cause_text()
    {
        var rig = new CallRig();
        rig.Published("c1");

        await rig.EventAsync(CallRig.Hangup("ChannelDestroyed", "c1", 21, "Call Rejected by the far end"));

        var ended = Assert.Single(rig.Publisher.Ended);
        Assert.Equal((21, "Call Rejected by the far end"), (ended.Cause, ended.CauseText));
    }

    [Fact]
    public async Task Hangup_of_a_call_the_ingress_does_not_hold_is_ignored()
    {
        var rig = new CallRig();
        await rig.EventAsync(CallRig.Hangup("ChannelHangupRequest", "elsewhere", 16));

        Assert.Equal(0, rig.Table.TrackedCalls);
        Assert.Empty(rig.Publisher.Ended);
    }

    [Fact]
    public async Task Hangup_before_the_call_was_published_ends_it_without_CallEnded()
    {
        var rig = new CallRig();
        rig.Table.GetOrAdd("c1").InStasis = true;

        await rig.EventAsync(CallRig.Hangup("ChannelDestroyed", "c1", 16));

        Assert.Empty(rig.Publisher.Ended);
        Assert.True(rig.Table.Find("c1")!.Ended);
    }

    [Fact]
    public async Task StasisEnd_leaves_Stasis_so_that_a_new_entry_is_published_again()
    {
        var rig = new CallRig();
        await rig.EventAsync(CallRig.StasisStart("c1"));
        await rig.EventAsync(CallRig.StasisStart("c1"));
        Assert.Single(rig.Publisher.Entered);

        await rig.EventAsync(new AriEvent { Type = "StasisEnd", Application = "astrapbx", Channel = new AriChannel { Id = "c1" } });
        Assert.False(rig.Table.Find("c1")!.InStasis);
        await rig.EventAsync(CallRig.StasisStart("c1"));
        Assert.Equal(2, rig.Publisher.Entered.Count);
    }

    [Fact]
    public async Task Connect_runs_the_resync()
    {
        var rig = new CallRig();
        rig.Ari.Application("astrapbx");

        await rig.Coordinator.OnConnectedAsync(CancellationToken.None);

        Assert.Equal(["GET applications/astrapbx"], rig.Ari.Requests);
        Assert.Single(rig.Logs.WithEventId(8));
    }
}
