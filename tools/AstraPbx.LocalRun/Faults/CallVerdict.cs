namespace AstraPbx.LocalRun.Faults;

/// <summary>Where a call went.</summary>
public enum CallDisposition
{
    /// <summary>Still in Stasis, or left only when the test hung up.</summary>
    None,

    /// <summary>Continued into the AudioSocket context (an AI session).</summary>
    Ai,

    /// <summary>Continued to the fallback target (Routing's or the ingress's edge fallback).</summary>
    Fallback,

    /// <summary>Continued elsewhere in the dialplan (a SIP user, a queue).</summary>
    Dialplan,

    /// <summary>Hung up by the system.</summary>
    HungUp,
}

/// <summary>How <see cref="CallClassifier"/> judged one call.</summary>
public sealed record CallVerdict
{
    public required CallFacts Facts { get; init; }

    public CallDisposition Disposition { get; init; }

    /// <summary>Answered and, within <see cref="CallClassifier.StrandedAfter"/>, neither continued nor hung up.</summary>
    public bool Stranded { get; init; }

    /// <summary>Never answered and never decided: ringing, not silence, but no decision either.</summary>
    public bool Unanswered { get; init; }

    /// <summary>No record with both a decision and the hangup once the run settled.</summary>
    public bool Lost => LostReason is not null;

    /// <summary>Why it counts as lost (<c>no record</c>, <c>no decision</c>, <c>no hangup</c>); null when it is not.</summary>
    public string? LostReason { get; init; }

    /// <summary>Reference to the <c>continue</c> to the fallback; null unless <see cref="CallDisposition.Fallback"/>.</summary>
    public TimeSpan? FallbackAfter { get; init; }

    public override string ToString()
    {
        var f = Facts;
        var flags = (Stranded ? " STRANDED" : "") + (Unanswered ? " UNANSWERED" : "") + (Lost ? $" LOST ({LostReason})" : "");
        var target = f.Target is { } t ? $"{t.Context},{t.Extension}" : "-";
        var after = f.ContinuedAfter is { } c ? $" after {c.TotalSeconds:0.00} s" : "";
        var record = f.Record is { } r ? $"outcome={r.Outcome ?? "null"} ended={r.Ended} cause={r.HangupCause?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null"}" : "no record";
        return $"{f.CallId} {f.Kind} [{f.Phase}]: {Disposition} -> {target}{after}; commands {f.Commands}; {record}{flags}";
    }
}
