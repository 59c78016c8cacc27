namespace AstraPbx.LoadTool;

/// <summary>The relay a load run measures: AstraPbx's MediaRelay (<see cref="BrokerRelay"/>) or the seed-style Node.js
/// peer (<see cref="NodePeerRelay"/>). The callers, the echo gateway, the pacer and every figure are the load run's,
/// the same for both; only how a call gets its AudioSocket endpoint and what the relay reports of itself differ.</summary>
internal interface IMeasuredRelay : IAsyncDisposable
{
    /// <summary>Which relay is measured, for the report (e.g. <c>AstraPbx MediaRelay</c>).</summary>
    string Name { get; }

    /// <summary>Short key for the report's summary line: <c>astrapbx</c> or <c>node-peer</c>.</summary>
    string Key { get; }

    /// <summary>The relay's process, for CPU, memory and pinning; null when unknown (a running relay without
    /// <c>--relay-pid</c>).</summary>
    int? Pid { get; }

    /// <summary>The delay the relay means to add on the way back: its playout target plus one 20 ms tick.</summary>
    double IntendedDelayMs { get; }

    /// <summary>Readies one session and returns where its caller dials; null when the relay refused it (recorded
    /// through <paramref name="fail"/> with a short reason).</summary>
    Task<SessionEndpoint?> OpenSessionAsync(Action<string> fail);

    /// <summary>Prints what the relay reported of the calls (<paramref name="sessions"/>) itself and returns the frames it
    /// dropped on purpose (drift correction); none when it reports nothing.</summary>
    Task<RelaySide> ReportRelaySideAsync(IReadOnlySet<Guid> sessions);
}

/// <summary>What a relay says of its own calls: the frames it dropped on purpose (drift correction), how many of them
/// gave back ticks it skipped itself (its clock stalled, or the caller stopped reading) rather than gaps the bot's late
/// audio left, and the share of its frames to the callers played on a tick that started more than 2 ms late. Two ticks
/// are more than 22 ms apart only if the second started more than 2 ms late, so under 1 % here puts the p99 of the
/// relay's own tick spacing within 22 ms, apart from the load tool's receive jitter (a frame's send within its tick
/// still moves with the work before it in the tick). Null when the relay does not say.</summary>
internal readonly record struct RelaySide(long Frames, long? ForSkippedTicks, double? LateTickShare)
{
    public static RelaySide None => new(0, null, null);
}
