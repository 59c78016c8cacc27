namespace AstraPbx.LocalRun.Faults;

/// <summary>How the fault rig's deployment is set up. Unset timeouts leave the services' own defaults, so that the
/// fault table shows the product as shipped.</summary>
public sealed class FaultRigOptions
{
    /// <summary>The ingress's <c>Ari__EdgeFallbackAfter</c>; null: its default.</summary>
    public TimeSpan? EdgeFallbackAfter { get; init; }

    /// <summary>Routing's <c>Routing__StartSessionTimeout</c>; null: its default.</summary>
    public TimeSpan? StartSessionTimeout { get; init; }

    /// <summary>Progress lines.</summary>
    public Action<string>? Log { get; init; }
}
