using System.Diagnostics;
using System.Runtime.InteropServices;

namespace AstraPbx.MediaRelay.Media.Playout;

/// <summary>clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME): sleeps to an absolute Stopwatch timestamp (on Linux
/// Stopwatch is CLOCK_MONOTONIC in nanoseconds).</summary>
internal static partial class PreciseSleep
{
    private const int ClockMonotonic = 1;
    private const int TimerAbstime = 1;
    private const int Eintr = 4;

    public static readonly bool Available = Probe();

    public static void Until(long timestamp)
    {
        var due = new Timespec { Seconds = timestamp / 1_000_000_000, Nanoseconds = timestamp % 1_000_000_000 };
        while (clock_nanosleep(ClockMonotonic, TimerAbstime, in due, IntPtr.Zero) == Eintr)
        {
            // EINTR: a signal woke the thread early; sleep again to the same absolute time.
        }
    }

    private static bool Probe()
    {
        if (!OperatingSystem.IsLinux() || !Environment.Is64BitProcess || Stopwatch.Frequency != 1_000_000_000)
        {
            return false;
        }

        try
        {
            var now = new Timespec();
            return clock_nanosleep(ClockMonotonic, TimerAbstime, in now, IntPtr.Zero) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>struct timespec on 64-bit Linux.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc")]
    private static partial int clock_nanosleep(int clock, int flags, in Timespec request, IntPtr remain);
}
