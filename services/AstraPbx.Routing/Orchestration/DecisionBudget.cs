using AstraPbx.Contracts.Calls;

namespace AstraPbx.Routing.Orchestration;

/// <summary>The time one decision has. The ingress continues the call to its own fallback at
/// <see cref="CallEnteredStasis.DecideBy"/>; Routing starts no relay attempt that cannot end by
/// <c>DecideBy - DecisionMargin</c> (the margin is for writing the decision and sending the command) and cuts its
/// database round trips so that a fallback still reaches the ingress before <c>DecideBy</c>. Without a
/// <c>DecideBy</c> (an ingress with no edge fallback) only the configured per-step timeouts apply.</summary>
public sealed class DecisionBudget(DateTimeOffset? decideBy, RoutingOptions settings, TimeProvider time)
{
    /// <summary>With less than this left no relay attempt is started: a relay needs tens of milliseconds when all is
    /// well, and an attempt cut shorter than this would mostly time out and only delay the fallback.</summary>
    public static readonly TimeSpan MinimumAttempt = TimeSpan.FromMilliseconds(200);

    /// <summary>The shortest timeout a database round trip gets, however close the deadline: a healthy database
    /// answers well within it.</summary>
    public static readonly TimeSpan MinimumDatabaseCall = TimeSpan.FromMilliseconds(100);

    public DateTimeOffset? DecideBy => decideBy;

    /// <summary>True once <c>DecideBy</c> has passed: the ingress's edge fallback has the call and would ignore a
    /// command.</summary>
    public bool Expired => decideBy is { } d && time.GetUtcNow() >= d;

    /// <summary>Time left until the decision must be made (<c>DecideBy - DecisionMargin</c>); null without
    /// <c>DecideBy</c>.</summary>
    public TimeSpan? Left => decideBy is { } d ? d - settings.DecisionMargin - time.GetUtcNow() : null;

    /// <summary>The timeout of the next relay attempt: <c>StartSessionTimeout</c>, cut to <see cref="Left"/>; null when
    /// less than <see cref="MinimumAttempt"/> is left.</summary>
    public TimeSpan? NextAttempt()
    {
        if (Left is not { } left)
        {
            return settings.StartSessionTimeout;
        }

        return left < MinimumAttempt ? null : Min(settings.StartSessionTimeout, left);
    }

    /// <summary>The timeout of the next database round trip: <c>DatabaseTimeout</c>, cut to the time left before
    /// <c>DecideBy</c>, never below <see cref="MinimumDatabaseCall"/>.</summary>
    public TimeSpan NextDatabaseCall() =>
        decideBy is { } d
            ? Max(Min(settings.DatabaseTimeout, d - time.GetUtcNow()), MinimumDatabaseCall)
            : settings.DatabaseTimeout;

    /// <summary>Whether a database retry after <paramref name="delay"/> can still end before <c>DecideBy</c>.</summary>
    public bool AllowsRetry(TimeSpan delay) => decideBy is not { } d || d - time.GetUtcNow() - delay >= MinimumDatabaseCall;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
