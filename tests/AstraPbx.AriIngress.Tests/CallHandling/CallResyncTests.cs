using AstraPbx.AriIngress.Ari;
using AstraPbx.Contracts.Calls;
using Xunit;

namespace AstraPbx.AriIngress.Tests.CallHandling;

/// <summary>After a reconnect: channels that entered Stasis unseen are published, known calls that vanished unseen are
/// ended, and nothing is published twice.</summary>
public sealed class CallResyncTests
{
    [Fact]
    public async Task Listed_channels_are_recovered_in_our_Stasis_adopted_elsewhere_and_ended_when_gone()
    {
        var rig = new CallRig();
        rig.Ari.Application("astrapbx", "missed", "elsewhere", "other-app", "vanished")
            .Channel(CallRig.Channel("missed", appData: "astrapbx,queue_timeout,7"))
            .Channel(new AriChannel { Id = "elsewhere", Dialplan = new AriDialplan { Context = "queues", Exten = "5001", AppName = "Dial", AppData = "PJSIP/100" } })
            .Channel(CallRig.Channel("other-app", appData: "other,ai_agent,3"));

        await rig.Resync.ResyncAsync(CancellationToken.None);

        var entered = Assert.Single(rig.Publisher.Entered);
        Assert.Equal("missed", entered.CallId);
        Assert.Equal(["queue_timeout", "7"], entered.StasisArgs);
        Assert.Equal(("0207946000", "1003"), (entered.CallerNumber, entered.Extension));
        Assert.Equal("POST channels/missed/answer", rig.Ari.About("missed")[1]);

        // Listed but outside our Stasis: subscribed by an earlier process, so followed without any further request.
        foreach (var id in new[] { "elsewhere", "other-app" })
        {
            var adopted = rig.Table.Find(id)!;
            Assert.Equal((true, true, false, false), (adopted.KnownDownstream, adopted.Subscribed, adopted.InStasis, adopted.Ended));
            Assert.Equal(["GET channels/" + id], rig.Ari.About(id));
        }

        Assert.Contains("Call elsewhere adopted by the resync: alive outside Stasis at queues,5001 (Dial); its hangup will end it", rig.Logs.WithEventId(12).Select(l => l.Message));

        // Listed a moment ago and gone now: its end is told (cause unknown).
        var ended = Assert.Single(rig.Publisher.Ended);
        Assert.Equal(("vanished", 0), (ended.CallId, ended.Cause));
        Assert.Contains("4 channels listed, 1 recovered in Stasis, 2 adopted outside Stasis, 1 found ended", Assert.Single(rig.Logs.WithEventId(8)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_channel_an_earlier_process_sent_to_the_AI_context_is_adopted_and_its_hangup_publishes_CallEnded_once()
    {
        var rig = new CallRig();
        rig.Ari.Application("astrapbx", "ai-call")
            .Channel(new AriChannel { Id = "ai-call", State = "Up", Dialplan = new AriDialplan { Context = "audiosocket-ai", Exten = "s", Priority = 3, AppName = "AudioSocket", AppData = "uuid,10.0.0.7:9092" } });

        await rig.Resync.ResyncAsync(CancellationToken.None);
        await rig.Resync.ResyncAsync(CancellationToken.None);

        Assert.Equal(["GET channels/ai-call"], rig.Ari.About("ai-call"));
        Assert.Empty(rig.Publisher.Entered);
        Assert.Equal(["1 channels listed, 0 recovered in Stasis, 1 adopted outside Stasis, 0 found ended", "1 channels listed, 0 recovered in Stasis, 0 adopted outside Stasis, 0 found ended"],
            rig.Logs.WithEventId(8).Select(l => l.Message["ARI resync: ".Length..]));

        // Its command, redelivered after the earlier process died, is late; one that names no entry runs as before.
        await rig.Commands.ConnectToRelayAsync(new ConnectToRelay
        {
            CallId = "ai-call", AsteriskId = CallRig.AsteriskId, SessionId = Guid.NewGuid(), RelayEndpoint = "10.0.0.7:9092", EnteredAt = rig.Time.GetUtcNow() - TimeSpan.FromSeconds(30),
        }, CancellationToken.None);
        Assert.Single(rig.Ari.About("ai-call"));
        Assert.EndsWith("was already decided before this ingress process started (the resync found the channel outside Stasis)",
            Assert.Single(rig.Logs.WithEventId(37)).Message, StringComparison.Ordinal);
        rig.Ari.Reply("POST channels/ai-call/variable", 409, """{"message":"Channel not in Stasis application"}""");
        await rig.Commands.ConnectToRelayAsync(new ConnectToRelay { CallId = "ai-call", AsteriskId = CallRig.AsteriskId, SessionId = Guid.NewGuid(), RelayEndpoint = "10.0.0.7:9092" },
            CancellationToken.None);
        Assert.Contains("channel not in Stasis", Assert.Single(rig.Logs.WithEventId(31)).Message, StringComparison.Ordinal);

        await rig.EventAsync(CallRig.Hangup("ChannelHangupRequest", "ai-call", 16));
        await rig.EventAsync(CallRig.Hangup("ChannelDestroyed", "ai-call", 16, "Normal Clearing"));
        await rig.EventAsync(CallRig.Hangup("ChannelDestroyed", "ai-call", 16, "Normal Clearing"));

        var ended = Assert.Single(rig.Publisher.Ended);
        Assert.Equal(("ai-call", 16, "Normal Clearing"), (ended.CallId, ended.Cause, ended.CauseText));
        Assert.True(rig.Table.Find("ai-call")!.Ended);
    }

    [Fact]
    public async Task A_hangup_that_arrives_while_the_resync_checks_the_channel_keeps_its_cause()
    {
        var rig = new CallRig();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        rig.Ari.Application("astrapbx", "c1")
            .Channel(new AriChannel { Id = "c1", Dialplan = new AriDialplan { Context = "queues", Exten = "5001", AppName = "Queue", AppData = "sales" } })
            .Hold("GET channels/c1", gate.Task);

        var resync = rig.Resync.ResyncAsync(CancellationToken.None);
        await rig.Ari.Held("GET channels/c1");
        rig.Coordinator.OnEvent(CallRig.Hangup("ChannelDestroyed", "c1", 18, "No user responding"), 0);
        gate.SetResult();
        await resync;
        await rig.IdleAsync("c1");

        Assert.Equal((18, "No user responding"), (Assert.Single(rig.Publisher.Ended).Cause, rig.Publisher.Ended.Single().CauseText));
    }

    [Fact]
    public async Task Channels_already_published_or_ended_are_skipped()
    {
        var rig = new CallRig();
        rig.Published("published");
        rig.Table.Forget(rig.Table.GetOrAdd("ended"));
        rig.Ari.Application("astrapbx", "published", "ended")
            .Channel(CallRig.Channel("published"))
            .Channel(CallRig.Channel("ended"));

        await rig.Resync.ResyncAsync(CancellationToken.None);

        Assert.Equal(["GET applications/astrapbx"], rig.Ari.Requests);
        Assert.Empty(rig.Publisher.Entered);
    }

    [Fact]
    public async Task Known_calls_missing_from_the_list_and_gone_are_ended()
    {
        var rig = new CallRig();
        rig.Published("gone");
        rig.Table.GetOrAdd("never-published").InStasis = true;
        rig.Ari.Application("astrapbx");

        await rig.Resync.ResyncAsync(CancellationToken.None);

        var ended = Assert.Single(rig.Publisher.Ended);
        Assert.Equal(("gone", 0, "hung up while the ARI socket was down"), (ended.CallId, ended.Cause, ended.CauseText));
        Assert.True(rig.Table.Find("gone")!.Ended);
        Assert.Empty(rig.Ari.About("never-published"));
        Assert.Contains("0 channels listed, 0 recovered in Stasis, 0 adopted outside Stasis, 1 found ended", Assert.Single(rig.Logs.WithEventId(8)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Known_calls_missing_from_the_list_but_alive_outside_Stasis_are_subscribed_again()
    {
        var rig = new CallRig();
        var continued = rig.Published("continued");
        continued.InStasis = false;
        continued.Subscribed = true;
        rig.Ari.Application("astrapbx")
            .Channel(CallRig.Channel("continued"))
            .Reply("POST applications/astrapbx/subscription", 500);

        await rig.Resync.ResyncAsync(CancellationToken.None);
        Assert.False(continued.Subscribed);

        rig.Ari.Reply("POST applications/astrapbx/subscription", 204);
        await rig.Resync.ResyncAsync(CancellationToken.None);

        Assert.True(continued.Subscribed);
        Assert.False(continued.Ended);
        Assert.Empty(rig.Publisher.Ended);
        Assert.Equal(2, rig.Ari.Requests.Count(r => r == "POST applications/astrapbx/subscription?eventSource=channel:continued"));
    }

    [Fact]
    public async Task A_failed_listing_is_logged_and_changes_nothing()
    {
        var rig = new CallRig();
        rig.Published("known");
        rig.Ari.Reply("GET applications/astrapbx", 503);

        await rig.Resync.ResyncAsync(CancellationToken.None);

        Assert.Equal(["GET applications/astrapbx"], rig.Ari.Requests);
        Assert.Single(rig.Logs.WithEventId(9));
        Assert.Empty(rig.Publisher.Ended);
        Assert.False(rig.Table.Find("known")!.Ended);
    }
}
