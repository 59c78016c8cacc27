using System.Diagnostics;

namespace AstraPbx.LocalRun.Faults;

/// <summary>The faults of the services themselves: a process SIGKILLed (<see cref="DeployedService.KillAsync"/>),
/// restarted, or racing another instance.</summary>
public static class ProcessFaults
{
    /// <summary>What the ingress logs once a resync after a (re)connect is done (AriIngressLog event 8).</summary>
    private const string ResyncLine = "ARI resync";
    private static readonly TimeSpan ResyncPatience = TimeSpan.FromSeconds(20);

    /// <summary>Routing SIGKILLed between claim and command: calls to a bot whose gateway never answers keep Routing
    /// waiting on StartAiSession; it is killed while they wait, more calls come in while it is down, and it is started
    /// again. The calls it held must still reach the fallback (its claims expire; the edge fallback covers the caller).</summary>
    public static async Task RoutingKilledAsync(FaultSession session, int calls)
    {
        var parts = FaultScenario.Split(calls, 2, 1, 1);
        var routing = session.Deployment.Routing;
        await session.PlaceWithRoutingWaitingAsync(parts[0], _ => FaultCallKind.SlowBot, "Routing waiting on StartAiSession").ConfigureAwait(false);

        var killed = Stopwatch.GetTimestamp();
        await routing.KillAsync().ConfigureAwait(false);
        session.FaultInjected("Routing SIGKILLed");
        try
        {
            await session.PlaceAsync(parts[1], _ => FaultCallKind.Bot, "Routing down").ConfigureAwait(false);
        }
        finally
        {
            await routing.StartAgainAsync().ConfigureAwait(false);
            session.Note("Routing SERVING again " + FaultSession.Since(killed) + " after the kill");
        }

        await session.PlaceAsync(parts[2], _ => FaultCallKind.Bot, "Routing back").ConfigureAwait(false);
        await session.WaitDecidedAsync(session.Calls).ConfigureAwait(false);
    }

    /// <summary>The ingress SIGKILLed and started again with calls in three states: in AI sessions (connected to the
    /// echo bot), in the dialplan (continued to a SIP user), and in Stasis (Routing waiting on a gateway that never
    /// answers). The restarted ingress must decide the calls in Stasis and adopt the others: once it has resynced, every
    /// call is hung up and each must get its CallEnded (record <c>ended_at</c> and cause). The calls in Stasis count
    /// their window and their time to the fallback from the new ingress's return.</summary>
    public static async Task IngressRestartAsync(FaultSession session, int calls)
    {
        var parts = FaultScenario.Split(calls, 1, 1, 1);
        var ingress = session.Deployment.Ingress;
        var ai = await session.PlaceAsync(parts[1], _ => FaultCallKind.Bot, "in an AI session", hold: true).ConfigureAwait(false);
        var dialplan = await session.PlaceAsync(parts[2], _ => FaultCallKind.SipUser, "in the dialplan", hold: true).ConfigureAwait(false);
        await session.WaitEstablishedAsync(ai.Concat(dialplan)).ConfigureAwait(false);
        var stasis = await session.PlaceWithRoutingWaitingAsync(parts[0], _ => FaultCallKind.SlowBot, "in Stasis").ConfigureAwait(false);

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

    /// <summary>A second Routing instance racing the first: two Routing processes consume the same queue; calls
    /// alternate between the silent bot (Routing waits between claim and command) and the echo bot; the first instance
    /// is SIGKILLed while some wait and started again at once, so redelivered entries race between the two (and the edge
    /// fallback). Every Stasis entry must get exactly one command at Asterisk.</summary>
    public static async Task RoutingRaceAsync(FaultSession session, int calls)
    {
        var parts = FaultScenario.Split(calls, 1, 1);
        var deployment = session.Deployment;
        var second = await deployment.StartRoutingAsync().ConfigureAwait(false);
        session.Note($"{second.Name} started");
        try
        {
            static FaultCallKind Alternate(int i) => i % 2 == 0 ? FaultCallKind.SlowBot : FaultCallKind.Bot;
            await session.PlaceWithRoutingWaitingAsync(parts[0], Alternate, "two instances").ConfigureAwait(false);
            var killed = Stopwatch.GetTimestamp();
            await deployment.Routing.KillAsync().ConfigureAwait(false);
            session.FaultInjected($"{deployment.Routing.Name} SIGKILLed");
            await deployment.Routing.StartAgainAsync().ConfigureAwait(false);
            session.Note($"{deployment.Routing.Name} SERVING again " + FaultSession.Since(killed) + " after the kill");
            await session.PlaceAsync(parts[1], Alternate, "after the restart").ConfigureAwait(false);
            await session.WaitDecidedAsync(session.Calls).ConfigureAwait(false);
        }
        finally
        {
            // Back to one instance for the scenarios after this one; every call here is decided or stranded by now.
            await second.KillAsync().ConfigureAwait(false);
        }
    }
}
