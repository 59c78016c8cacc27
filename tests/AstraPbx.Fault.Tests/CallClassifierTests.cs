using AstraPbx.LocalRun.Faults;
using AstraPbx.Simulators.Ari;
using Xunit;

namespace AstraPbx.Fault.Tests;

/// <summary>The fault suite's own yardstick: how a call is judged stranded or lost, and the table's figures.</summary>
public sealed class CallClassifierTests
{
    private const string AudioSocket = "audiosocket-ai";
    private static readonly (string, string) Fallback = ("org1-internal", "5001");
    private static readonly CallRecordFacts Complete = new("fallback", Ended: true, HangupCause: 16);

    private static CallVerdict Classify(CallFacts facts) => CallClassifier.Classify(facts, AudioSocket, Fallback);

    private static CallFacts Answered(double? continuedAfter = null, string extension = "5001", double? endedAfter = null, CallRecordFacts? record = null) => new()
    {
        CallId = "1.1",
        Answered = true,
        Target = continuedAfter is null ? null : new DialplanTarget(extension == "s" ? AudioSocket : "org1-internal", extension, 1),
        ContinuedAfter = continuedAfter is { } c ? TimeSpan.FromSeconds(c) : null,
        SystemEndedAfter = endedAfter is { } e ? TimeSpan.FromSeconds(e) : null,
        Commands = 1,
        Record = record ?? Complete,
    };

    [Fact]
    public void A_call_continued_to_the_fallback_within_10_s_is_not_stranded_and_counts_its_time()
    {
        var verdict = Classify(Answered(continuedAfter: 9.9));

        Assert.False(verdict.Stranded);
        Assert.Equal(CallDisposition.Fallback, verdict.Disposition);
        Assert.Equal(TimeSpan.FromSeconds(9.9), verdict.FallbackAfter);
    }

    [Fact]
    public void An_answered_call_continued_only_after_10_s_is_stranded()
    {
        var verdict = Classify(Answered(continuedAfter: 10.5));

        Assert.True(verdict.Stranded);
        Assert.Equal(TimeSpan.FromSeconds(10.5), verdict.FallbackAfter);
    }

    [Fact]
    public void An_answered_call_nobody_acted_on_is_stranded_and_an_unanswered_one_is_counted_apart()
    {
        Assert.True(Classify(Answered()).Stranded);
        var unanswered = Classify(Answered() with { Answered = false });
        Assert.False(unanswered.Stranded);
        Assert.True(unanswered.Unanswered);
    }

    [Fact]
    public void A_call_hung_up_by_the_system_in_time_is_not_stranded()
    {
        var verdict = Classify(Answered(endedAfter: 3));

        Assert.False(verdict.Stranded);
        Assert.Equal(CallDisposition.HungUp, verdict.Disposition);
        Assert.Null(verdict.FallbackAfter);
    }

    [Theory]
    [InlineData("s", CallDisposition.Ai)]
    [InlineData("1001", CallDisposition.Dialplan)]
    [InlineData("5001", CallDisposition.Fallback)]
    public void Where_a_continue_went_decides_the_disposition(string extension, CallDisposition expected)
    {
        Assert.Equal(expected, Classify(Answered(continuedAfter: 0.2, extension: extension)).Disposition);
    }

    [Fact]
    public void A_call_is_lost_without_a_record_holding_both_its_decision_and_its_hangup()
    {
        Assert.Equal("no record", Classify(Answered(0.2) with { Record = null }).LostReason);
        Assert.Equal("no decision", Classify(Answered(0.2, record: new CallRecordFacts(null, true, 16))).LostReason);
        Assert.Equal("no hangup", Classify(Answered(0.2, record: new CallRecordFacts("fallback", false, null))).LostReason);
        Assert.False(Classify(Answered(0.2)).Lost);
    }

    [Fact]
    public void Percentiles_are_nearest_rank_and_absent_without_values()
    {
        TimeSpan[] sorted = [.. Enumerable.Range(1, 10).Select(i => TimeSpan.FromSeconds(i))];

        Assert.Equal(TimeSpan.FromSeconds(5), FaultReport.Percentile(sorted, 50));
        Assert.Equal(TimeSpan.FromSeconds(10), FaultReport.Percentile(sorted, 99));
        Assert.Null(FaultReport.Percentile([], 50));
    }

    [Theory]
    [InlineData(1, new[] { 1.0, 2, 1 })]
    [InlineData(3, new[] { 1.0, 2, 1 })]
    [InlineData(4, new[] { 3.0, 1 })]
    [InlineData(7, new[] { 1.0, 1, 1 })]
    [InlineData(100, new[] { 2.0, 1, 1 })]
    public void Split_gives_every_call_a_phase_and_every_phase_a_call_when_there_are_enough(int calls, double[] shares)
    {
        var parts = FaultScenario.Split(calls, shares);

        Assert.Equal(calls, parts.Sum());
        Assert.Equal(shares.Length, parts.Length);
        Assert.All(parts, p => Assert.True(p >= (calls >= shares.Length ? 1 : 0)));
    }
}
