using System.Runtime.InteropServices;

namespace AstraPbx.Simulators.AudioSocket;

/// <summary>Puts the calling thread at SCHED_FIFO (Linux, root or CAP_SYS_NICE): the load tool's pacer and receiver then
/// run the moment they wake, ahead of every ordinary thread on their core (the tool's own thread pool, the JIT, the
/// broker); only a garbage collection that suspends the process still delays them.</summary>
public static partial class RealtimeThread
{
    /// <summary>The priority asked for (1-99): above every ordinary thread, low among real-time ones.</summary>
    public const int Priority = 10;

    private const int SchedFifo = 1;

    /// <summary>True when the calling thread now runs at SCHED_FIFO; false when refused (EPERM) or not on Linux.</summary>
    public static bool TrySet()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        try
        {
            // Pid 0: the calling thread.
            var priority = Priority;
            return sched_setscheduler(0, SchedFifo, ref priority) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>sched_setscheduler(2); <c>struct sched_param</c> is one int, its priority.</summary>
    [LibraryImport("libc")]
    private static partial int sched_setscheduler(int pid, int policy, ref int param);
}
