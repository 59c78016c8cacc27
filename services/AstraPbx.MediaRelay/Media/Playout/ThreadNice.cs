using System.Runtime.InteropServices;

namespace AstraPbx.MediaRelay.Media.Playout;

/// <summary>Raises the calling thread's scheduling priority where the process may (root or CAP_SYS_NICE), so playout
/// ticks win the CPU from bulk work when a machine is busy: SCHED_FIFO (<see cref="TryRealtime"/>), or nice -10
/// (<see cref="TryRaise"/>). Elsewhere it stays as is.</summary>
internal static partial class ThreadNice
{
    private const int PrioProcess = 0;
    private const int SchedFifo = 1;

    /// <summary>Puts the calling thread at SCHED_FIFO with <paramref name="priority"/> (1-99): it then runs the moment it
    /// wakes and keeps its core until it sleeps again, ahead of every ordinary thread (the relay's thread pool, the
    /// broker's, the JIT). The kernel still leaves ordinary threads 5 % of each second (sched_rt_runtime_us).</summary>
    public static bool TryRealtime(int priority)
    {
        if (!OperatingSystem.IsLinux() || priority <= 0)
        {
            return false;
        }

        try
        {
            // Pid 0: the calling thread.
            return sched_setscheduler(0, SchedFifo, ref priority) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

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

    /// <summary>sched_setscheduler(2); <c>struct sched_param</c> is one int, its priority.</summary>
    [LibraryImport("libc")]
    private static partial int sched_setscheduler(int pid, int policy, ref int param);
}
