using System.Globalization;
using System.Text;

namespace AstraPbx.LocalRun.Faults;

/// <summary>What one fault scenario did to its calls: one row of the fault table, and every call's verdict.</summary>
public sealed record FaultReport
{
    /// <summary>The scenario's short name (<c>postgres</c>).</summary>
    public required string Fault { get; init; }

    /// <summary>What the scenario does, in words.</summary>
    public required string Title { get; init; }

    public required IReadOnlyList<CallVerdict> Calls { get; init; }

    /// <summary>What the scenario measured on the way (fault durations, restarts, anything that did not go as planned).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>The scenario did not run to its end (hard timeout, stop, or an error): the calls were hung up and
    /// judged as they were.</summary>
    public bool Aborted { get; init; }

    /// <summary>The error that ended the scenario early, if one did.</summary>
    public string? Error { get; init; }

    public int Placed => Calls.Count;

    public int Stranded => Calls.Count(c => c.Stranded);

    public int Lost => Calls.Count(c => c.Lost);

    public int Unanswered => Calls.Count(c => c.Unanswered);

    /// <summary>Calls whose Stasis entry got no command or more than one (<c>continue</c> + <c>DELETE</c> requests).</summary>
    public int NotExactlyOneCommand => Calls.Count(c => c.Facts.Commands != 1);

    /// <summary>Time from the fault (or the call's StasisStart) to its <c>continue</c> to the fallback, for every call that
    /// took the fallback, shortest first.</summary>
    public IReadOnlyList<TimeSpan> FallbackTimes => [.. Calls.Where(c => c.FallbackAfter is not null).Select(c => c.FallbackAfter!.Value).Order()];

    public TimeSpan? FallbackP50 => Percentile(FallbackTimes, 50);

    public TimeSpan? FallbackP99 => Percentile(FallbackTimes, 99);

    /// <summary>The table's notes cell: where the calls went, commands per entry, lost reasons, then the scenario's notes.</summary>
    public string Summary()
    {
        var parts = new List<string>
        {
            string.Join(", ", Enum.GetValues<CallDisposition>().Select(d => (d, n: Calls.Count(c => c.Disposition == d))).Where(x => x.n > 0)
                .Select(x => $"{x.d.ToString().ToLowerInvariant()} {x.n}")),
            "commands per entry: " + string.Join(", ", Calls.GroupBy(c => c.Facts.Commands).OrderBy(g => g.Key).Select(g => $"{g.Count()}x{g.Key}")),
        };
        if (Unanswered > 0)
        {
            parts.Add($"unanswered {Unanswered}");
        }

        if (Lost > 0)
        {
            parts.Add("lost: " + string.Join(", ", Calls.Where(c => c.Lost).GroupBy(c => c.LostReason).Select(g => $"{g.Key} {g.Count()}")));
        }

        if (Aborted)
        {
            parts.Add("ABORTED" + (Error is null ? "" : ": " + Error.Split('\n')[0]));
        }

        parts.AddRange(Notes);
        return string.Join("; ", parts.Where(p => p.Length > 0));
    }

    /// <summary>Every call, one line each, for a failing assertion's message.</summary>
    public string Details()
    {
        var text = new StringBuilder($"{Fault}: {Summary()}\n");
        foreach (var call in Calls)
        {
            text.Append("  ").Append(call).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Nearest-rank percentile of sorted values; null when there are none.</summary>
    public static TimeSpan? Percentile(IReadOnlyList<TimeSpan> sorted, int percent)
    {
        if (sorted.Count == 0)
        {
            return null;
        }

        var rank = (int)Math.Ceiling(percent / 100.0 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }

    internal static string Seconds(TimeSpan? value) =>
        value is { } v ? v.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture) + " s" : "-";
}
