using System.Diagnostics;

namespace AstraPbx.LocalRun.Faults;

/// <summary>A second Routing instance racing the first: two Routing processes consume the same queue; calls alternate
/// between the silent bot (Routing waits between claim and command) and the echo bot; the first instance is SIGKILLed
/// while some wait and started again at once, so redelivered entries race between the two (and the edge fallback).
/// Every Stasis entry must get exactly one command at Asterisk.</summary>
public sealed class RoutingRaceScenario : FaultScenario
{
    public override string Name => "routing-race";

    public override string Title => "Two Routing instances racing, one SIGKILLed mid-decision";

    public override async Task RunAsync(FaultSession session, int calls)
    {
        var parts = Split(calls, 1, 1);
        var deployment = session.Deployment;
        var silent = session.Rig.SilentGateway;
        var second = await deployment.StartRoutingAsync().ConfigureAwait(false);
        session.Note($"{second.Name} started");
        try
        {
            static FaultCallKind Alternate(int i) => i % 2 == 0 ? FaultCallKind.SlowBot : FaultCallKind.Bot;
            var accepted = silent.Accepted;
            await session.PlaceAsync(parts[0], Alternate, "two instances").ConfigureAwait(false);
            if (!await silent.WaitForAcceptedAsync(accepted + 1, TimeSpan.FromSeconds(15), session.Token).ConfigureAwait(false))
            {
                session.Note("no Routing was waiting on StartAiSession before the kill");
            }

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
