using System.Diagnostics;

namespace AstraPbx.LocalRun.Faults;

/// <summary>The broker SIGKILLed mid-run (<c>scripts/infra kill-rabbitmq</c>) and started again: AI calls connected
/// before (held through the outage, hung up after it), placed while it is down, and placed once it is back. Callers
/// during the outage must get the edge fallback; every call's life must reach the records once the broker returns.</summary>
public sealed class BrokerKilledScenario : FaultScenario
{
    public override string Name => "broker";

    public override string Title => "RabbitMQ SIGKILLed mid-run, then restarted";

    public override async Task RunAsync(FaultSession session, int calls)
    {
        var parts = Split(calls, 1, 2, 1);
        var infrastructure = session.Rig.Infrastructure;
        var before = await session.PlaceAsync(parts[0], _ => FaultCallKind.Bot, "in an AI session before", hold: true).ConfigureAwait(false);
        await session.WaitEstablishedAsync(before).ConfigureAwait(false);

        var killed = Stopwatch.GetTimestamp();
        await infrastructure.KillRabbitMqAsync(session.Token).ConfigureAwait(false);
        session.FaultInjected("broker SIGKILLed");
        IReadOnlyList<FaultCall> during;
        try
        {
            during = await session.PlaceAsync(parts[1], _ => FaultCallKind.Bot, "broker down").ConfigureAwait(false);
        }
        finally
        {
            await infrastructure.StartRabbitMqAsync(CancellationToken.None).ConfigureAwait(false);
            session.Note("broker down " + FaultSession.Since(killed));
        }

        var back = Stopwatch.GetTimestamp();
        await session.WaitDecidedAsync(during).ConfigureAwait(false);
        try
        {
            await session.Deployment.WaitServingAsync().ConfigureAwait(false);
            session.Note("all services SERVING " + FaultSession.Since(back) + " after the broker returned");
        }
        catch (TimeoutException)
        {
            session.Note("not every service SERVING " + FaultSession.Since(back) + " after the broker returned");
        }

        var after = await session.PlaceAsync(parts[2], _ => FaultCallKind.Bot, "broker back").ConfigureAwait(false);
        await session.WaitDecidedAsync(after).ConfigureAwait(false);
    }
}
