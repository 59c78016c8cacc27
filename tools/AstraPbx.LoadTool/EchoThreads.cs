using System.Globalization;
using AstraPbx.Simulators.AudioSocket;
using AstraPbx.Simulators.Gateway;

namespace AstraPbx.LoadTool;

/// <summary>The echo bot's timing. The tool's bot must send each frame back the moment it reads it, or the relay sees
/// late audio that is the tool's, not its own: on the thread pool, beside the tool's other work on its core (the calls'
/// set-up at the ramp's start, the JIT), echoes left 5-35 ms after the bot read them, and the relay's drift correction
/// then trimmed frames that the tool counted as lost (docs/benchmarks.md, issue 13, session 25). So, as the caller pacer
/// and receiver do, the echo runs at real-time priority: the process's socket completions run inline on the socket
/// engine's epoll threads (<see cref="EnableInlineCompletions"/>, before its first socket), the gateway's Kestrel runs
/// its sessions inline on them (<see cref="FakeGatewayOptions.InlineTransport"/>), and <see cref="RaiseSocketEngine"/>
/// puts those threads at SCHED_FIFO, below the pacer and receiver so that neither waits behind an echo.</summary>
internal static class EchoThreads
{
    /// <summary>.NET's switch that runs socket completions on the epoll thread instead of queueing them to the thread
    /// pool; read once, when the process's socket engine starts.</summary>
    public const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>Below <see cref="RealtimeThread.Priority"/> (the pacer and receiver), above every ordinary thread.</summary>
    public const int Priority = RealtimeThread.Priority - 5;

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

    /// <summary>Puts every socket engine thread at SCHED_FIFO (<see cref="Priority"/>); how many took it of how many
    /// there are. Again after more sockets were opened: the engine may have started another thread.</summary>
    public static (int Raised, int Found) RaiseSocketEngine()
    {
        var threads = SocketEngineThreads(Tasks);
        return (threads.Count(tid => RealtimeThread.TrySet(tid, Priority)), threads.Count);
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
}
