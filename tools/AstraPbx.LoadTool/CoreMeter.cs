using System.Globalization;

namespace AstraPbx.LoadTool;

/// <summary>Where one core's time went, from its <c>cpuN</c> line in <c>/proc/stat</c> (USER_HZ ticks): on a VM a relay
/// pinned to a core is slower, and its CPU per call-minute higher, when the hypervisor takes that core away (steal) or
/// something else runs there; neither is the relay's doing, so the load tool says how much of each a window had.</summary>
internal static class CoreMeter
{
    /// <summary>Cumulative ticks of one core: everything but idle and iowait, and of it the hypervisor's steal.</summary>
    public readonly record struct Sample(long Busy, long Steal, long Total)
    {
        public static Sample operator -(Sample after, Sample before) =>
            new(after.Busy - before.Busy, after.Steal - before.Steal, after.Total - before.Total);
    }

    /// <summary>The core's counters now; null where <c>/proc/stat</c> is unreadable or has no such core.</summary>
    public static Sample? Read(int core)
    {
        try
        {
            return Parse(File.ReadAllText("/proc/stat"), core);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The <c>cpu{core}</c> line of a <c>/proc/stat</c> text: user nice system idle iowait irq softirq steal
    /// (guest time is already inside user).</summary>
    public static Sample? Parse(string text, int core)
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"cpu{core}");
        foreach (var line in text.Split('\n'))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 9 || fields[0] != name)
            {
                continue;
            }

            var ticks = new long[8];
            for (var i = 0; i < ticks.Length; i++)
            {
                if (!long.TryParse(fields[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out ticks[i]))
                {
                    return null;
                }
            }

            var total = ticks.Sum();
            return new Sample(total - ticks[3] - ticks[4], ticks[7], total);
        }

        return null;
    }
}
