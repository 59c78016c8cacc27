using System.Diagnostics;

namespace AstraPbx.LocalRun.Faults;

/// <summary>Routing SIGKILLed between claim and command: calls to a bot whose gateway never answers keep Routing
/// waiting on StartAiSession; it is killed while they wait, more calls come in while it is down, and it is started
/// again. The calls it held must still reach the fallback (its claims expire; the edge fallback covers the caller).</summary>
public sealed class RoutingKilledScenario : FaultScenario
{
    public override string Name => "routing-kill";

    public override string Title => "Routing SIGKILLed between claim and command, then restarted";

    public override async Task RunAsync(FaultSession session, int calls)
    {
        var parts = Split(calls, 2, 1, 1);
        var silent = session.Rig.SilentGateway;
        var routing = session.Deployment.Routing;
        var accepted = silent.Accepted;
        await session.PlaceAsync(parts[0], _ => FaultCallKind.SlowBot, "Routing waiting on StartAiSession").ConfigureAwait(false);
        if (!await silent.WaitForAcceptedAsync(accepted + parts[0], TimeSpan.FromSeconds(15), session.Token).ConfigureAwait(false))
        {
            session.Note($"only {silent.Accepted - accepted} of {parts[0]} session attempts reached the silent gateway before the kill");
        }

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
}
