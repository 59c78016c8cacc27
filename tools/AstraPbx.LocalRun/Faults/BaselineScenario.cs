namespace AstraPbx.LocalRun.Faults;

/// <summary>No fault: AI calls to the bot. Every call should reach the bot, none stranded or lost.</summary>
public sealed class BaselineScenario : FaultScenario
{
    public override string Name => "baseline";

    public override string Title => "No fault (AI calls)";

    public override async Task RunAsync(FaultSession session, int calls)
    {
        var placed = await session.PlaceAsync(calls, _ => FaultCallKind.Bot, "no fault").ConfigureAwait(false);
        await session.WaitDecidedAsync(placed).ConfigureAwait(false);
    }
}
