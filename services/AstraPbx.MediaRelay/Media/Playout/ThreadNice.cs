using System.Runtime.InteropServices;

namespace AstraPbx.MediaRelay.Media.Playout;

/// <summary>Raises the calling thread's scheduling priority (nice -10) where the process may (root or
/// CAP_SYS_NICE), so playout ticks win the CPU from bulk work when a machine is busy. Elsewhere it stays as is.</summary>
internal static partial class ThreadNice
{
    private const int PrioProcess = 0;

    public static bool TryRaise()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            // PRIO_PROCESS with a thread id sets that one thread's nice value on Linux.
            return setpriority(PrioProcess, gettid(), -10) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc")]
    private static partial int setpriority(int which, int who, int prio);

    [LibraryImport("libc")]
    private static partial int gettid();
}
