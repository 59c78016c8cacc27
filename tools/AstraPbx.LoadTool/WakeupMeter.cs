using System.Globalization;

namespace AstraPbx.LoadTool;

/// <summary>Cross-core wake-ups into one core: its rescheduling and function-call interrupts (<c>RES</c> and <c>CAL</c>
/// in <c>/proc/interrupts</c>), which a thread on another core raises when it wakes one that sleeps on this core. A relay
/// sending to the load tool's sockets pays for each wake-up of the tool's threads it causes, in its own system time
/// (46-54 us each on the project's VM, docs/benchmarks.md), so this count explains much of the run-to-run spread of the relay's CPU.</summary>
internal static class WakeupMeter
{
    private static readonly string[] Kinds = ["RES:", "CAL:"];

    /// <summary>The core's RES + CAL count now; null where <c>/proc/interrupts</c> is unreadable or has no such core.</summary>
    public static long? Read(int core)
    {
        try
        {
            return Parse(File.ReadAllText("/proc/interrupts"), core);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>RES + CAL of <paramref name="core"/> in a <c>/proc/interrupts</c> text: a header of <c>CPU0 CPU1 ...</c>,
    /// then one row per interrupt with a count per core in header order.</summary>
    public static long? Parse(string text, int core)
    {
        var lines = text.Split('\n');
        var column = Array.IndexOf(lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries), string.Create(CultureInfo.InvariantCulture, $"CPU{core}"));
        if (column < 0)
        {
            return null;
        }

        long total = 0;
        var found = 0;
        foreach (var line in lines)
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > column + 1 && Array.IndexOf(Kinds, fields[0]) >= 0
                && long.TryParse(fields[column + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var count))
            {
                total += count;
                found++;
            }
        }

        return found == Kinds.Length ? total : null;
    }
}
