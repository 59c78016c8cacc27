using MassTransit;

namespace AstraPbx.Contracts.Media;

/// <summary>Event, published by each media relay every <c>Relay:Capacity:PublishInterval</c> and whenever it starts or
/// stops taking sessions: its measured headroom. Routing keeps the latest per relay and, when every relay it heard from
/// recently has no room, sends an AI call to the fallback at once instead of waiting for a request no relay takes.</summary>
[MessageUrn("astrapbx:media:relay-capacity:v1")]
public sealed record RelayCapacity
{
    /// <summary>The relay instance (pod name).</summary>
    public required string RelayInstance { get; init; }

    /// <summary>True while the relay consumes <c>StartAiSession</c> (one more session fits).</summary>
    public bool Accepting { get; init; }

    /// <summary>What is full when not accepting: <c>cpu</c>, <c>lateness</c>, <c>sessions</c>, <c>draining</c> or
    /// <c>warming-up</c> (a relay whose call path is not warm yet takes no session); <c>none</c> otherwise.</summary>
    public string Limiter { get; init; } = "none";

    /// <summary>Sessions that still fit, estimated from the CPU each live session uses.</summary>
    public int HeadroomSessions { get; init; }

    /// <summary>Live and pending sessions.</summary>
    public int Sessions { get; init; }

    /// <summary>Projected load with one more session against the limit (1 = full).</summary>
    public double Load { get; init; }

    /// <summary>When the relay measured this.</summary>
    public DateTimeOffset MeasuredAt { get; init; }

    /// <summary>How long this report holds: a relay not heard from again within it is no longer counted.</summary>
    public TimeSpan ValidFor { get; init; }
}
