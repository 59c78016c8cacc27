using System.Diagnostics;
using AstraPbx.AriIngress.Ari;
using Xunit;

namespace AstraPbx.AriIngress.Tests.CallHandling;

/// <summary>A channel in Stasis is answered first, its variables read, and CallEnteredStasis published once.</summary>
public sealed class StasisEntryHandlerTests
{
    [Fact]
    public async Task Answers_first_then_reads_the_variables_and_publishes_the_channel_data()
    {
        var rig = new CallRig();
        rig.Ari.Reply("GET channels/c1/variable?variable=ORG_ID", 200, """{"value":"org-42"}""");
        var at = rig.Time.GetUtcNow();

        await Enter(rig, CallRig.StasisStart("c1"), at);

        Assert.Equal(["POST channels/c1/answer", "GET channels/c1/variable?variable=ORG_ID", "GET channels/c1/variable?variable=LANGUAGE"], rig.Ari.Requests);
        var entered = Assert.Single(rig.Publisher.Entered);
        Assert.Equal(("c1", CallRig.AsteriskId, "PJSIP/0207946000-00000001"), (entered.CallId, entered.AsteriskId, entered.ChannelName));
        Assert.Equal(("0207946000", "Ada", "1003", "org_demo_internal"), (entered.CallerNumber, entered.CallerName, entered.Extension, entered.Context));
        Assert.Equal(["ai_agent", "3"], entered.StasisArgs);
        Assert.Equal("org-42", entered.OrgId);
        Assert.Equal(new Dictionary<string, string> { ["ORG_ID"] = "org-42" }, entered.Variables);
        Assert.Equal(at, entered.EnteredAt);
        Assert.Equal(at, entered.AnsweredAt);
        var call = rig.Table.Find("c1")!;
        Assert.True(call.InStasis && call.Published && call.KnownDownstream);
    }

    [Fact]
    public async Task The_variables_are_read_while_the_answer_is_in_flight()
    {
        var rig = new CallRig();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        rig.Ari.Hold("POST channels/c1/answer", release.Task).Hold("GET channels/c1/variable", release.Task);

        var entering = Enter(rig, CallRig.StasisStart("c1"), rig.Time.GetUtcNow());

        // Both are held at once only if the read did not wait for the answer's reply.
        await Task.WhenAll(rig.Ari.Held("POST channels/c1/answer"), rig.Ari.Held("GET channels/c1/variable")).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Empty(rig.Publisher.Entered);
        release.SetResult();
        await entering.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("POST channels/c1/answer", rig.Ari.Requests.First());
        Assert.Single(rig.Publisher.Entered);
    }

    [Fact]
    public async Task Channelvars_in_the_event_are_used_without_asking_Asterisk()
    {
        var rig = new CallRig();
        var evt = CallRig.StasisStart("c1");
        evt.Channel!.ChannelVars = new Dictionary<string, string?> { ["ORG_ID"] = "org-7", ["LANGUAGE"] = "" };

        await Enter(rig, evt, rig.Time.GetUtcNow());

        Assert.Equal(["POST channels/c1/answer"], rig.Ari.Requests);
        Assert.Equal(new Dictionary<string, string> { ["ORG_ID"] = "org-7" }, Assert.Single(rig.Publisher.Entered).Variables);
    }

    [Fact]
    public async Task A_failed_answer_is_published_unanswered_and_an_unreadable_variable_is_left_out()
    {
        var rig = new CallRig();
        rig.Ari.Reply("POST channels/c1/answer", 500, """{"message":"Internal Server Error"}""");
        rig.Ari.Reply("GET channels/c1/variable", 500);

        await Enter(rig, CallRig.StasisStart("c1"), rig.Time.GetUtcNow());

        var entered = Assert.Single(rig.Publisher.Entered);
        Assert.Null(entered.AnsweredAt);
        Assert.Equal("", entered.OrgId);
        Assert.Single(rig.Logs.WithEventId(21));
        Assert.Equal(2, rig.Logs.WithEventId(26).Count());
    }

    [Theory]
    [InlineData(404, true)]
    [InlineData(409, false)]
    public async Task A_channel_gone_or_out_of_Stasis_before_the_answer_is_not_published(int status, bool forgotten)
    {
        var rig = new CallRig();
        rig.Ari.Reply("POST channels/c1/answer", status);

        await Enter(rig, CallRig.StasisStart("c1"), rig.Time.GetUtcNow());

        Assert.Empty(rig.Publisher.Entered);
        var call = rig.Table.Find("c1")!;
        Assert.False(call.InStasis);
        Assert.Equal(forgotten, call.Ended);
        // The answer goes first; the variable reads ride alongside it, nothing else is sent.
        Assert.Equal("POST channels/c1/answer", rig.Ari.Requests.First());
        Assert.All(rig.Ari.Requests.Skip(1), r => Assert.StartsWith("GET channels/c1/variable", r, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_message_the_full_outbound_queue_refused_leaves_the_call_unpublished_for_a_later_entry()
    {
        var rig = new CallRig();
        rig.Publisher.Full = true;

        await Enter(rig, CallRig.StasisStart("c1"), rig.Time.GetUtcNow());

        var call = rig.Table.Find("c1")!;
        Assert.False(call.Published || call.KnownDownstream);
        Assert.Single(rig.Logs.WithEventId(23));

        rig.Publisher.Full = false;
        await Enter(rig, CallRig.StasisStart("c1"), rig.Time.GetUtcNow());
        Assert.Single(rig.Publisher.Entered);
    }

    [Fact]
    public async Task An_ended_call_or_one_already_published_in_this_entry_is_not_entered_again()
    {
        var rig = new CallRig();
        rig.Published("c1");
        rig.Table.Forget(rig.Table.GetOrAdd("c2"));

        await Enter(rig, CallRig.StasisStart("c1"), rig.Time.GetUtcNow());
        await Enter(rig, CallRig.StasisStart("c2"), rig.Time.GetUtcNow());

        Assert.Empty(rig.Ari.Requests);
        Assert.Empty(rig.Publisher.Entered);
    }

    private static Task Enter(CallRig rig, AriEvent evt, DateTimeOffset at) =>
        rig.Stasis.EnterAsync(rig.Table.GetOrAdd(evt.Channel!.Id!), evt, Stopwatch.GetTimestamp(), at, resync: false);
}
