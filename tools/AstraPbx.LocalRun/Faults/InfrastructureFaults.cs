using System.Diagnostics;

namespace AstraPbx.LocalRun.Faults;

/// <summary>The faults of the infrastructure under the services: the database stopped, the broker killed.</summary>
public static class InfrastructureFaults
{
    /// <summary>The shortest outage: longer than a caller's window (<see cref="CallClassifier.StrandedAfter"/>), so that a
    /// call that waits for the service to return, rather than getting a fallback, counts as stranded.</summary>
    public static readonly TimeSpan MinimumOutage = TimeSpan.FromSeconds(12);

    /// <summary>The phase of the calls placed while the database is down.</summary>
    public const string DatabaseDownPhase = "database down";

    /// <summary>The real PostgreSQL server stopped (<c>scripts/infra stop-postgresql</c>); AI calls placed while it is
    /// down, each given its full window (the outage at least <see cref="MinimumOutage"/>); then started again, and a few
    /// more calls placed. Routing cannot read its routes or write its records: callers must still reach the fallback,
    /// and the records be written once the database is back.</summary>
    public static async Task PostgresStoppedAsync(FaultSession session, int calls)
    {
        var parts = FaultScenario.Split(calls, 3, 1);
        var infrastructure = session.Rig.Infrastructure;
        var stopped = Stopwatch.GetTimestamp();
        await infrastructure.StopPostgresAsync(session.Token).ConfigureAwait(false);
        session.FaultInjected("PostgreSQL stopped");
        try
        {
            var during = await session.PlaceAsync(parts[0], _ => FaultCallKind.Bot, DatabaseDownPhase).ConfigureAwait(false);
            await session.HoldFaultAsync(during, stopped, MinimumOutage).ConfigureAwait(false);
        }
        finally
        {
            await infrastructure.StartPostgresAsync(CancellationToken.None).ConfigureAwait(false);
            session.Note("PostgreSQL down " + FaultSession.Since(stopped));
        }

        var back = Stopwatch.GetTimestamp();
        await session.Deployment.Routing.WaitServingAsync().ConfigureAwait(false);
        session.Note("Routing SERVING " + FaultSession.Since(back) + " after the database returned");
        var after = await session.PlaceAsync(parts[1], _ => FaultCallKind.Bot, "database back").ConfigureAwait(false);
        await session.WaitDecidedAsync(after).ConfigureAwait(false);
    }

    /// <summary>The broker SIGKILLed mid-run (<c>scripts/infra kill-rabbitmq</c>) and started again: AI calls connected
    /// before (held through the outage, hung up after it), placed while it is down (each given its full window, the
    /// outage at least <see cref="MinimumOutage"/>), and placed once it is back. Callers during the outage must get the
    /// edge fallback; every call's life must reach the records once the broker returns.</summary>
    public static async Task BrokerKilledAsync(FaultSession session, int calls)
    {
        var parts = FaultScenario.Split(calls, 1, 2, 1);
        var infrastructure = session.Rig.Infrastructure;
        var before = await session.PlaceAsync(parts[0], _ => FaultCallKind.Bot, "in an AI session before", hold: true).ConfigureAwait(false);
        await session.WaitEstablishedAsync(before).ConfigureAwait(false);

        var killed = Stopwatch.GetTimestamp();
        await infrastructure.KillRabbitMqAsync(session.Token).ConfigureAwait(false);
        session.FaultInjected("broker SIGKILLed");
        try
        {
            var during = await session.PlaceAsync(parts[1], _ => FaultCallKind.Bot, "broker down").ConfigureAwait(false);
            await session.HoldFaultAsync(during, killed, MinimumOutage).ConfigureAwait(false);
        }
        finally
        {
            await infrastructure.StartRabbitMqAsync(CancellationToken.None).ConfigureAwait(false);
            session.Note("broker down " + FaultSession.Since(killed));
        }

        var back = Stopwatch.GetTimestamp();
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
