using System.ComponentModel.DataAnnotations;

namespace AstraPbx.Routing;

/// <summary>The <c>Routing</c> section: where calls go when their route cannot be followed, and how AI sessions
/// are requested.</summary>
public sealed class RoutingOptions : IValidatableObject
{
    public const string Section = "Routing";

    /// <summary>Dialplan context of the fallback (e.g. a reception queue's context or a "sorry" context).
    /// Empty together with <see cref="FallbackExtension"/>: the fallback hangs the call up.</summary>
    public string FallbackContext { get; set; } = "";

    /// <summary>Extension of the fallback in <see cref="FallbackContext"/>.</summary>
    public string FallbackExtension { get; set; } = "";

    /// <summary>Priority of the fallback.</summary>
    [Range(1, 10000)]
    public int FallbackPriority { get; set; } = 1;

    /// <summary>How long to wait for a relay's answer to <c>StartAiSession</c>; each attempt is also cut short so
    /// that the decision is made by <c>DecideBy - DecisionMargin</c>. A relay prepares a session in tens of
    /// milliseconds (gateway connect and handshake included); 1.2 s leaves room for a slow gateway while two attempts
    /// still fit inside the ingress's edge deadline.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan StartSessionTimeout { get; set; } = TimeSpan.FromMilliseconds(1200);

    /// <summary>Further <c>StartAiSession</c> attempts after a failure or timeout, before the fallback.</summary>
    [Range(0, 5)]
    public int StartSessionRetries { get; set; } = 1;

    /// <summary>How much of the time before the ingress's edge deadline (<c>CallEnteredStasis.DecideBy</c>) is kept for
    /// writing the decision and sending the command: no relay attempt runs past <c>DecideBy - DecisionMargin</c>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan DecisionMargin { get; set; } = TimeSpan.FromMilliseconds(300);

    /// <summary>How long a claim on a Stasis entry lasts. An entry not decided by then (its instance died or hangs)
    /// may be claimed again by any instance; the decision is written only while the claim is still held, so a slow
    /// first instance sends nothing.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan ClaimLease { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest one database round trip of a decision (claim, resolve, decision write) may take before
    /// the database counts as unavailable for that call. A healthy database answers in milliseconds; without this
    /// bound a silent database would hold the caller for Npgsql's 15 s connect timeout.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:00:30")]
    public TimeSpan DatabaseTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Apply the schema migrations when the service starts.</summary>
    public bool ApplyMigrationsAtStart { get; set; } = true;

    /// <summary>The ARI application name the generated dialplan enters (<c>Stasis(&lt;app&gt;,...)</c>).</summary>
    [Required, RegularExpression("^[A-Za-z0-9_-]{1,40}$")]
    public string StasisApp { get; set; } = "astrapbx";

    /// <summary>The dialplan context that runs AudioSocket (<c>ConnectToRelay.Context</c>).</summary>
    [Required, RegularExpression("^[A-Za-z0-9_-]{1,79}$")]
    public string AudioSocketContext { get; set; } = "audiosocket-ai";

    /// <summary>The dialplan context that runs the 16 kHz channel driver for wideband routes
    /// (<c>Dial(AudioSocket/.../c(slin16),,g)</c>, then <c>Stasis(app,ai_ended,&lt;uuid&gt;)</c>).</summary>
    [Required, RegularExpression("^[A-Za-z0-9_-]{1,79}$")]
    public string WidebandAudioSocketContext { get; set; } = "audiosocket-ai-16";

    /// <summary>How long a call back from a wideband AI leg (<c>ai_ended</c>) waits for the relay's
    /// <c>AiSessionEnded</c> to be recorded before it takes the fallback. Within the ingress's edge deadline.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:02")]
    public TimeSpan AiSessionEndWait { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How many times one channel may enter Stasis before Routing hangs it up: a guard against a call
    /// circling between queues and Routing for ever.</summary>
    [Range(1, 100)]
    public int MaxStasisEntries { get; set; } = 8;

    /// <summary>Database connections the warm-up opens at once before the service reports SERVING (at least two, and at
    /// least the pool's <c>Minimum Pool Size</c>), then gives back to the pool. A burst of new calls otherwise opens one
    /// connection (a server process and a SCRAM handshake) per call above the pool's size, on that call's time: measured
    /// at 20 new calls/s after SERVING, the pool grew from 4 to 11-14 within 3-4 s (docs/benchmarks.md, "Issue 13,
    /// session 10"). Idle connections above the minimum are closed by Npgsql after its idle lifetime (300 s).</summary>
    [Range(0, 100)]
    public int WarmConnections { get; set; } = 12;

    /// <summary>Ring time of a SIP user's <c>Dial()</c> in the generated dialplan.</summary>
    [Range(1, 600)]
    public int DialTimeoutSeconds { get; set; } = 30;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrEmpty(FallbackContext) != string.IsNullOrEmpty(FallbackExtension))
        {
            yield return new ValidationResult(
                $"Settings '{Section}:{nameof(FallbackContext)}' and '{Section}:{nameof(FallbackExtension)}' are set together or not at all.",
                [nameof(FallbackContext), nameof(FallbackExtension)]);
        }

        if (string.Equals(AudioSocketContext, WidebandAudioSocketContext, StringComparison.Ordinal))
        {
            yield return new ValidationResult(
                $"Settings '{Section}:{nameof(AudioSocketContext)}' and '{Section}:{nameof(WidebandAudioSocketContext)}' must name different contexts.",
                [nameof(AudioSocketContext), nameof(WidebandAudioSocketContext)]);
        }

        foreach (var (name, value) in new[] { (nameof(FallbackContext), FallbackContext), (nameof(FallbackExtension), FallbackExtension) })
        {
            if (value.Length > 0 && !Dialplan.DialplanValues.IsSafeToken(value))
            {
                yield return new ValidationResult($"Setting '{Section}:{name}' may hold only letters, digits, '_', '-', '+', '*', '#'.", [name]);
            }
        }
    }

    /// <summary>True when a fallback destination is configured; otherwise the fallback hangs up.</summary>
    public bool HasFallbackTarget => FallbackContext.Length > 0 && FallbackExtension.Length > 0;
}
