namespace AstraPbx.LocalRun.Faults;

/// <summary>One fault of issue 11 and the calls placed around it. A scenario restores what it broke (in
/// <c>finally</c>) before it returns; <see cref="FaultRunner"/> then checks the whole deployment is back.</summary>
public abstract class FaultScenario
{
    /// <summary>The short name the runner's <c>--fault</c> takes.</summary>
    public abstract string Name { get; }

    /// <summary>What it does, as the table's first column says it.</summary>
    public abstract string Title { get; }

    /// <summary>Every scenario, in the table's order: the baseline first.</summary>
    public static IReadOnlyList<FaultScenario> All { get; } =
    [
        new BaselineScenario(),
        new PostgresStoppedScenario(),
        new BrokerKilledScenario(),
        new RoutingKilledScenario(),
        new IngressRestartScenario(),
        new RoutingRaceScenario(),
    ];

    /// <summary>The scenario named <paramref name="name"/>, or null.</summary>
    public static FaultScenario? Find(string name) => All.FirstOrDefault(s => s.Name == name);

    /// <summary>Places <paramref name="calls"/> calls around the fault and waits for their windows.</summary>
    public abstract Task RunAsync(FaultSession session, int calls);

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
