using System.Diagnostics;

namespace AstraPbx.AriIngress.Calls;

/// <summary>What the ingress remembers about one channel. Mutated only inside the call's own queue of work
/// (<see cref="CallTable.Enqueue"/>), so events and commands for one call never race.</summary>
internal sealed class CallState(string callId)
{
    public string CallId { get; } = callId;

    /// <summary>The tail of the call's queue of work; guarded by <c>lock(this)</c>.</summary>
    public Task Tail { get; set; } = Task.CompletedTask;

    /// <summary>Inside Stasis (StasisStart seen, no StasisEnd or continue since).</summary>
    public bool InStasis { get; set; }

    /// <summary>CallEnteredStasis published for the current Stasis entry.</summary>
    public bool Published { get; set; }

    /// <summary>Ever published: downstream knows the call, so its end must be published.</summary>
    public bool KnownDownstream { get; set; }

    /// <summary>The application is subscribed to the channel (its hangup will be seen outside Stasis).</summary>
    public bool Subscribed { get; set; }

    /// <summary>The relay session the channel was sent to (ConnectToRelay done).</summary>
    public Guid? RelaySession { get; set; }

    /// <summary>The dialplan target the channel was continued to.</summary>
    public string? ContinuedTo { get; set; }

    /// <summary>How the first <c>ChannelHangupRequest</c> asked (<c>soft</c>, or <c>cause N</c>), for the log; the
    /// call's cause comes with <c>ChannelDestroyed</c>.</summary>
    public string? HangupRequest { get; set; }

    /// <summary>CallEnded published (or the call vanished before anyone heard of it).</summary>
    public bool Ended { get; set; }

    public DateTimeOffset EndedAt { get; set; }

    /// <summary>The call's root span, parent of every later span of this call.</summary>
    public ActivityContext TraceContext { get; set; }
}
