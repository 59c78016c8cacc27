using System.Globalization;

namespace AstraPbx.LoadTool;

/// <summary>CPU time and resident memory of a process, from <c>/proc/&lt;pid&gt;/stat</c> and <c>/proc/&lt;pid&gt;/status</c>.</summary>
internal static class ProcessMeter
{
    /// <summary>Clock ticks per second of <c>/proc/*/stat</c> times (USER_HZ; 100 on Linux x86_64).</summary>
    public const double ClockTicks = 100;

    public readonly record struct Sample(double UserSeconds, double SystemSeconds, long RssBytes, int Threads)
    {
        public double CpuSeconds => UserSeconds + SystemSeconds;
    }

    public static Sample? Read(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // Fields after the parenthesised command name (which may hold spaces): state is field 3, utime 14, stime 15.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var utime = long.Parse(fields[11], CultureInfo.InvariantCulture);
            var stime = long.Parse(fields[12], CultureInfo.InvariantCulture);
            var threads = int.Parse(fields[17], CultureInfo.InvariantCulture);
            long rss = 0;
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
                }
            }

            return new Sample(utime / ClockTicks, stime / ClockTicks, rss, threads);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
