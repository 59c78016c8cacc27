namespace AstraPbx.LocalRun.Faults;

/// <summary>Judges one call as issue 11 counts them: stranded (answered, and within 10 s neither continued, nor sent to
/// AudioSocket, nor hung up), lost (no record with both the decision and the hangup once the run settled), and its
/// time to the fallback.</summary>
public static class CallClassifier
{
    /// <summary>How long an answered caller may wait in silence before the call counts as stranded.</summary>
    public static readonly TimeSpan StrandedAfter = TimeSpan.FromSeconds(10);

    /// <param name="facts">What was observed.</param>
    /// <param name="audioSocketContext">The context a <c>continue</c> into an AI session goes to.</param>
    /// <param name="fallback">The fallback target (context, extension).</param>
    public static CallVerdict Classify(CallFacts facts, string audioSocketContext, (string Context, string Extension) fallback)
    {
        var disposition = facts.Target is { } target
            ? target.Context == audioSocketContext ? CallDisposition.Ai
            : (target.Context, target.Extension) == fallback ? CallDisposition.Fallback
            : CallDisposition.Dialplan
            : facts.SystemEndedAfter is not null ? CallDisposition.HungUp
            : CallDisposition.None;
        var decidedInTime = facts.ContinuedAfter <= StrandedAfter || facts.SystemEndedAfter <= StrandedAfter;
        return new CallVerdict
        {
            Facts = facts,
            Disposition = disposition,
            Stranded = facts.Answered && !decidedInTime,
            Unanswered = !facts.Answered && disposition == CallDisposition.None,
            LostReason = facts.Record is not { } record ? "no record"
                : record.Outcome is null ? "no decision"
                : !record.Ended ? "no hangup"
                : null,
            FallbackAfter = disposition == CallDisposition.Fallback ? facts.ContinuedAfter : null,
        };
    }
}
