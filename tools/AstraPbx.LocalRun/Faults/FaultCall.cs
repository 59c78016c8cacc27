using System.Diagnostics;
using AstraPbx.Simulators.Ari;

namespace AstraPbx.LocalRun.Faults;

/// <summary>One call a scenario placed: what it is, in which phase of the fault, and what happened to it.</summary>
public sealed class FaultCall
{
    private long _systemEnded;

    internal FaultCall(SimulatedCall call, FaultCallKind kind, string phase, bool hold)
    {
        Call = call;
        Kind = kind;
        Phase = phase;
        Hold = hold;
        Reference = call.StasisStartSentTimestamp != 0 ? call.StasisStartSentTimestamp : Stopwatch.GetTimestamp();
        Watching = WatchEndAsync();
    }

    public SimulatedCall Call { get; }

    public FaultCallKind Kind { get; }

    /// <summary>When in the scenario it was placed (e.g. <c>broker down</c>).</summary>
    public string Phase { get; }

    /// <summary>Kept up until the scenario ends (a call that must live through the fault); others are hung up as soon
    /// as they are decided.</summary>
    public bool Hold { get; }

    /// <summary><see cref="Stopwatch.GetTimestamp"/> its 10 s window and its time to the fallback count from: its
    /// StasisStart, or the fault for a call still undecided when the fault was injected.</summary>
    public long Reference { get; internal set; }

    /// <summary>When something other than the test ended the channel (a DELETE, the relay); 0 if nothing did.</summary>
    public long SystemEndedTimestamp => Volatile.Read(ref _systemEnded);

    /// <summary>Continued out of Stasis, or ended by the system.</summary>
    public bool IsDecided => Call.ContinuedTimestamp != 0 || SystemEndedTimestamp != 0;

    /// <summary>Completes when the call is continued or ends (whoever ends it).</summary>
    public Task Decided => Task.WhenAny(Call.Continued, Call.Ended);

    internal Task Watching { get; }

    /// <summary>Hangs up as the caller would, unless the channel is already gone.</summary>
    internal async Task HangUpAsync()
    {
        if (!Call.Ended.IsCompleted)
        {
            await Call.HangUpAsync().ConfigureAwait(false);
        }
    }

    private async Task WatchEndAsync()
    {
        var end = await Call.Ended.ConfigureAwait(false);

        // The test is the only caller: a caller hangup is the test's own, anything else is the system's doing.
        if (end.Reason != SimulatedEndReason.CallerHungUp)
        {
            Volatile.Write(ref _systemEnded, Stopwatch.GetTimestamp());
        }
    }
}
