namespace AstraPbx.LocalRun.Faults;

/// <summary>One fault of issue 11 and the calls placed around it. A scenario restores what it broke (in
/// <c>finally</c>) before it returns; <see cref="FaultRunner"/> then checks the whole deployment is back.</summary>
public sealed class FaultScenario
{
    private readonly Func<FaultSession, int, Task> _run;

    private FaultScenario(string name, string title, Func<FaultSession, int, Task> run)
    {
        Name = name;
        Title = title;
        _run = run;
    }

    /// <summary>The short name the runner's <c>--fault</c> takes.</summary>
    public string Name { get; }

    /// <summary>What it does, as the table's first column says it.</summary>
    public string Title { get; }

    /// <summary>No fault: AI calls to the bot, each should reach it.</summary>
    public static FaultScenario Baseline { get; } = new("baseline", "No fault (AI calls)", async (session, calls) =>
        await session.WaitDecidedAsync(await session.PlaceAsync(calls, _ => FaultCallKind.Bot, "no fault").ConfigureAwait(false)).ConfigureAwait(false));

    /// <summary><see cref="InfrastructureFaults.PostgresStoppedAsync"/>.</summary>
    public static FaultScenario PostgresStopped { get; } =
        new("postgres", "PostgreSQL stopped, then started again", InfrastructureFaults.PostgresStoppedAsync);

    /// <summary><see cref="InfrastructureFaults.BrokerKilledAsync"/>.</summary>
    public static FaultScenario BrokerKilled { get; } =
        new("broker", "RabbitMQ SIGKILLed mid-run, then restarted", InfrastructureFaults.BrokerKilledAsync);

    /// <summary><see cref="ProcessFaults.RoutingKilledAsync"/>.</summary>
    public static FaultScenario RoutingKilled { get; } =
        new("routing-kill", "Routing SIGKILLed between claim and command, then restarted", ProcessFaults.RoutingKilledAsync);

    /// <summary><see cref="ProcessFaults.IngressRestartAsync"/>.</summary>
    public static FaultScenario IngressRestart { get; } =
        new("ingress-restart", "AriIngress SIGKILLed and restarted with calls in Stasis, AI sessions and the dialplan", ProcessFaults.IngressRestartAsync);

    /// <summary><see cref="ProcessFaults.RoutingRaceAsync"/>.</summary>
    public static FaultScenario RoutingRace { get; } =
        new("routing-race", "Two Routing instances racing, one SIGKILLed mid-decision", ProcessFaults.RoutingRaceAsync);

    /// <summary>Every scenario, in the table's order: the baseline first.</summary>
    public static IReadOnlyList<FaultScenario> All { get; } = [Baseline, PostgresStopped, BrokerKilled, RoutingKilled, IngressRestart, RoutingRace];

    /// <summary>The scenario named <paramref name="name"/>, or null.</summary>
    public static FaultScenario? Find(string name) => All.FirstOrDefault(s => s.Name == name);

    /// <summary>Places <paramref name="calls"/> calls around the fault and waits for their windows.</summary>
    public Task RunAsync(FaultSession session, int calls) => _run(session, calls);

    /// <summary>Splits <paramref name="calls"/> over phases by <paramref name="shares"/>: the parts add up to
    /// <paramref name="calls"/>, and each phase gets at least one call when there are enough.</summary>
    public static int[] Split(int calls, params double[] shares)
    {
        var total = shares.Sum();
        var parts = shares.Select(s => (int)Math.Floor(calls * s / total)).ToArray();
        for (var i = 0; parts.Sum() < calls; i = (i + 1) % parts.Length)
        {
            parts[i]++;
        }

        for (var i = 0; i < parts.Length && calls >= parts.Length; i++)
        {
            if (parts[i] == 0)
            {
                var largest = Array.IndexOf(parts, parts.Max());
                parts[largest]--;
                parts[i]++;
            }
        }

        return parts;
    }
}
