using AstraPbx.Simulators.Ari;

namespace AstraPbx.LocalRun.Faults;

/// <summary>What was observed of one call, as <see cref="CallClassifier"/> judges it. Times count from the call's
/// reference (its StasisStart, or the fault for a call in progress).</summary>
public sealed record CallFacts
{
    public required string CallId { get; init; }

    public FaultCallKind Kind { get; init; }

    public string Phase { get; init; } = "";

    /// <summary>The ingress answered the channel.</summary>
    public bool Answered { get; init; }

    /// <summary>Where <c>continue</c> sent it; null if it never left Stasis that way.</summary>
    public DialplanTarget? Target { get; init; }

    /// <summary>Reference to the <c>continue</c>; null if none.</summary>
    public TimeSpan? ContinuedAfter { get; init; }

    /// <summary>Reference to the system hanging it up (a DELETE, the relay); null if only the test did.</summary>
    public TimeSpan? SystemEndedAfter { get; init; }

    /// <summary><c>continue</c> and <c>DELETE</c> requests the ingress sent for it.</summary>
    public int Commands { get; init; }

    /// <summary>Its call record once the run settled; null when there is none.</summary>
    public CallRecordFacts? Record { get; init; }
}

/// <summary>The parts of a call record the fault suite checks.</summary>
/// <param name="Outcome">The decision (<c>outcome</c>), null while none is recorded.</param>
/// <param name="Ended">The hangup is recorded (<c>ended_at</c> not null).</param>
/// <param name="HangupCause">The recorded Q.850 cause, null while none.</param>
public sealed record CallRecordFacts(string? Outcome, bool Ended, int? HangupCause);
