using System.Diagnostics;

namespace AstraPbx.LocalRun.Faults;

/// <summary>The ingress SIGKILLed and started again with calls in three states: in AI sessions (connected to the echo
/// bot), in the dialplan (continued to a SIP user), and in Stasis (Routing waiting on a gateway that never answers).
/// The restarted ingress must decide the calls in Stasis and adopt the others: once it has resynced, every call is
/// hung up and each must get its CallEnded (record <c>ended_at</c> and cause). The calls in Stasis count their window
/// and their time to the fallback from the new ingress's return.</summary>
public sealed class IngressRestartScenario : FaultScenario
{
    /// <summary>What the ingress logs once a resync after a (re)connect is done (AriIngressLog event 8).</summary>
    private const string ResyncLine = "ARI resync";
    private static readonly TimeSpan ResyncPatience = TimeSpan.FromSeconds(20);

    public override string Name => "ingress-restart";

    public override string Title => "AriIngress SIGKILLed and restarted with calls in Stasis, AI sessions and the dialplan";

    public override async Task RunAsync(FaultSession session, int calls)
    {
        var parts = Split(calls, 1, 1, 1);
        var ingress = session.Deployment.Ingress;
        var silent = session.Rig.SilentGateway;
        var ai = await session.PlaceAsync(parts[1], _ => FaultCallKind.Bot, "in an AI session", hold: true).ConfigureAwait(false);
        var dialplan = await session.PlaceAsync(parts[2], _ => FaultCallKind.SipUser, "in the dialplan", hold: true).ConfigureAwait(false);
        await session.WaitEstablishedAsync(ai.Concat(dialplan)).ConfigureAwait(false);
        var accepted = silent.Accepted;
        var stasis = await session.PlaceAsync(parts[0], _ => FaultCallKind.SlowBot, "in Stasis").ConfigureAwait(false);
        if (!await silent.WaitForAcceptedAsync(accepted + parts[0], TimeSpan.FromSeconds(15), session.Token).ConfigureAwait(false))
        {
            session.Note($"only {silent.Accepted - accepted} of {parts[0]} calls in Stasis had Routing waiting before the kill");
        }

        var killed = Stopwatch.GetTimestamp();
        await ingress.KillAsync().ConfigureAwait(false);
        session.FaultInjected("ingress SIGKILLed");
        await ingress.StartAgainAsync().ConfigureAwait(false);

        // Nothing but the ingress can act on a channel, and how long a process takes to start says nothing about the
        // product: the calls in Stasis count from the new ingress's return, not from the kill.
        session.CountFromNow("ingress SERVING again " + FaultSession.Since(killed) + " after the kill; times count from then,");
        await session.WaitDecidedAsync(stasis).ConfigureAwait(false);

        // Hang up only once the new ingress has looked at every channel: the test is about adoption, not about a
        // hangup racing the resync.
        var deadline = Stopwatch.GetTimestamp() + (long)(ResyncPatience.TotalSeconds * Stopwatch.Frequency);
        while (!ingress.Process.OutputText.Contains(ResyncLine, StringComparison.Ordinal) && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(200, session.Token).ConfigureAwait(false);
        }

        if (!ingress.Process.OutputText.Contains(ResyncLine, StringComparison.Ordinal))
        {
            session.Note($"no '{ResyncLine}' line from the new ingress within {ResyncPatience.TotalSeconds:0} s");
        }
    }
}
