using AstraPbx.AriIngress.Ari;
using Xunit;

namespace AstraPbx.AriIngress.Tests.CallHandling;

/// <summary>After a reconnect: channels that entered Stasis unseen are published, known calls that vanished unseen are
/// ended, and nothing is published twice.</summary>
public sealed class CallResyncTests
{
    [Fact]
    public async Task Channels_in_our_Stasis_that_were_never_published_are_recovered()
    {
        var rig = new CallRig();
        rig.Ari.Application("astrapbx", "missed", "elsewhere", "other-app", "vanished")
            .Channel(CallRig.Channel("missed", appData: "astrapbx,queue_timeout,7"))
            .Channel(new AriChannel { Id = "elsewhere", Dialplan = new AriDialplan { AppName = "Dial", AppData = "PJSIP/100" } })
            .Channel(CallRig.Channel("other-app", appData: "other,ai_agent,3"));

        await rig.Resync.ResyncAsync(CancellationToken.None);

        var entered = Assert.Single(rig.Publisher.Entered);
        Assert.Equal("missed", entered.CallId);
        Assert.Equal(["queue_timeout", "7"], entered.StasisArgs);
        Assert.Equal(("0207946000", "1003"), (entered.CallerNumber, entered.Extension));
        Assert.Equal("POST channels/missed/answer", rig.Ari.About("missed")[1]);
        Assert.Null(rig.Table.Find("elsewhere"));
        Assert.Null(rig.Table.Find("other-app"));
        Assert.Null(rig.Table.Find("vanished"));
        Assert.Contains("4 channels listed, 1 recovered, 0 found ended", Assert.Single(rig.Logs.WithEventId(8)).Message, StringComparison.Ordinal);
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
        Assert.Contains("0 channels listed, 0 recovered, 1 found ended", Assert.Single(rig.Logs.WithEventId(8)).Message, StringComparison.Ordinal);
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
