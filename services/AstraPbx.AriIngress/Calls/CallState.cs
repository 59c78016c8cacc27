using System.Diagnostics;
using AstraPbx.Contracts.Calls;

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

    /// <summary>Counts the call's Stasis entries: tells the edge timer of an earlier entry from the current one.</summary>
    public int EntryNumber { get; set; }

    /// <summary>When the current (or last) Stasis entry was received (<see cref="CallEnteredStasis.EnteredAt"/>); null
    /// for a call this process never saw enter (a command for an unknown call, a channel adopted by the resync).</summary>
    public DateTimeOffset? EntryAt { get; set; }

    /// <summary>The current entry was found by the resync in a channel this process had never seen: the channel sat in
    /// Stasis since before this process started, so a command for an earlier entry (Routing's answer to the previous
    /// process, redelivered to this one) answers the same stay in Stasis.</summary>
    public bool EntryRecovered { get; set; }

    /// <summary>The current entry as published; <see cref="FallbackTaken.Entry"/> when the edge decides it.</summary>
    public CallEnteredStasis? Entry { get; set; }

    /// <summary>Who decided the current entry, as a phrase for the log (<c>decided by ContinueInDialplan
    /// (queues,5001,1)</c>, <c>sent to the fallback (reception,100,1) by the edge</c>); null while undecided.</summary>
    public string? DecidedBy { get; set; }

    /// <summary>The edge fallback timer of the current entry; null when none is armed.</summary>
    public ITimer? EdgeTimer { get; set; }

    /// <summary>How many times the edge fallback sent this call to its target (the loop guard).</summary>
    public int EdgeFallbacks { get; set; }

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

    /// <summary>Stops the edge timer, if armed: the entry was decided, left Stasis, or the call ended.</summary>
    public void DisarmEdge()
    {
        EdgeTimer?.Dispose();
        EdgeTimer = null;
    }
}
