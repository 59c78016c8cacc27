using System.Globalization;
using AstraPbx.Simulators.Gateway;

namespace AstraPbx.LoadTool;

/// <summary>The echo bot's timing. The tool's bot must send each frame back the moment it reads it, or the relay sees
/// late audio that is the tool's, not its own: on the thread pool, beside the tool's other work on its core (the calls'
/// set-up at the ramp's start, the JIT), echoes left 5-35 ms after the bot read them, and the relay's drift correction
/// then trimmed frames that the tool counted as lost (docs/benchmarks.md, issue 13, session 25). So the echo runs ahead
/// of that work: the process's socket completions run inline on the socket engine's epoll threads
/// (<see cref="EnableInlineCompletions"/>, before its first socket), the gateway's Kestrel runs its sessions inline on
/// them (<see cref="FakeGatewayOptions.InlineTransport"/>), and <see cref="RaiseSocketEngine"/> gives those threads the
/// highest ordinary priority (nice -20). Not SCHED_FIFO, as the pacer and receiver have: inline, every socket
/// completion of the tool runs on those threads (the broker client's, the calls' set-up), and at real-time priority
/// they starved the tool's ordinary threads, which the pacer then waited on (in 3 of 13 runs it was 35-54 ms late, against
/// 15 ms at worst in 33 of 34 runs without, and 13 ms in 20 runs at nice -20).</summary>
internal static partial class EchoThreads
{
    /// <summary>.NET's switch that runs socket completions on the epoll thread instead of queueing them to the thread
    /// pool; read once, when the process's socket engine starts.</summary>
    public const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>The niceness the socket engine's threads get: the most an ordinary thread can have.</summary>
    public const int Nice = -20;

    private const int PrioProcess = 0;

    /// <summary>The name (<c>comm</c>) .NET gives its socket engine's epoll threads.</summary>
    public const string EngineThreadName = ".NET Sockets";

    private const string Tasks = "/proc/self/task";

    /// <summary>Makes socket completions inline; false when too late (the socket engine already runs) or not on Linux.</summary>
    public static bool EnableInlineCompletions()
    {
        if (!OperatingSystem.IsLinux() || SocketEngineThreads(Tasks).Count > 0)
        {
            return false;
        }

        Environment.SetEnvironmentVariable(InlineCompletionsVariable, "1");
        return true;
    }

    /// <summary>Gives every socket engine thread <see cref="Nice"/> (<c>setpriority</c> on a thread id sets that thread's
    /// alone); how many took it of how many there are. Again after more sockets were opened: the engine may have started
    /// another thread.</summary>
    public static (int Raised, int Found) RaiseSocketEngine()
    {
        var threads = SocketEngineThreads(Tasks);
        return (threads.Count(tid => setpriority(PrioProcess, tid, Nice) == 0), threads.Count);
    }

    /// <summary>The thread ids under <paramref name="tasks"/> (a <c>/proc/PID/task</c> directory) named as the socket
    /// engine's threads; empty when there is no such directory.</summary>
    internal static IReadOnlyList<int> SocketEngineThreads(string tasks)
    {
        var found = new List<int>();
        string[] dirs;
        try
        {
            dirs = Directory.GetDirectories(tasks);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return found;
        }

        foreach (var dir in dirs)
        {
            try
            {
                if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var tid)
                    && File.ReadAllText(Path.Combine(dir, "comm")).StartsWith(EngineThreadName, StringComparison.Ordinal))
                {
                    found.Add(tid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The thread ended while we looked.
            }
        }

        found.Sort();
        return found;
    }

    /// <summary>setpriority(2).</summary>
    [System.Runtime.InteropServices.LibraryImport("libc")]
    private static partial int setpriority(int which, int who, int prio);
}
