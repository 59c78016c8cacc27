using System.Diagnostics;

namespace AstraPbx.LocalRun.Faults;

/// <summary>The real PostgreSQL server stopped (<c>scripts/infra stop-postgresql</c>); AI calls placed while it is down,
/// each given its full window; then started again, and a few more calls placed. Routing cannot read its routes or write
/// its records: callers must still reach the fallback, and the records must be written once the database is back.</summary>
public sealed class PostgresStoppedScenario : FaultScenario
{
    /// <summary>The phase of the calls placed while the database is down.</summary>
    public const string DuringPhase = "database down";

    public override string Name => "postgres";

    public override string Title => "PostgreSQL stopped, then started again";

    public override async Task RunAsync(FaultSession session, int calls)
    {
        var parts = Split(calls, 3, 1);
        var infrastructure = session.Rig.Infrastructure;
        var stopped = Stopwatch.GetTimestamp();
        await infrastructure.StopPostgresAsync(session.Token).ConfigureAwait(false);
        session.FaultInjected("PostgreSQL stopped");
        try
        {
            var during = await session.PlaceAsync(parts[0], _ => FaultCallKind.Bot, DuringPhase).ConfigureAwait(false);
            await session.WaitDecidedAsync(during).ConfigureAwait(false);
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
}
