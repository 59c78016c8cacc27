using System.Globalization;

namespace AstraPbx.LoadTool;

/// <summary>Pins a process and every thread it has to one core with util-linux's <c>taskset -a -p -c CORE PID</c>
/// (threads it starts later inherit the core from the thread that starts them).</summary>
internal static class CorePinning
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>Runs the taskset command and returns it as run, for the report.</summary>
    /// <exception cref="InvalidOperationException">taskset is missing or refused (e.g. no such core).</exception>
    public static Task<string> PinAsync(int pid, int core) => PinAsync(pid, core.ToString(CultureInfo.InvariantCulture));

    /// <summary>As <see cref="PinAsync(int, int)"/>, to a taskset core list (<c>0-1</c>).</summary>
    public static async Task<string> PinAsync(int pid, string cores)
    {
        var taskset = ChildProcess.FindOnPath("taskset")
            ?? throw new InvalidOperationException("taskset not found on PATH (util-linux): --relay-core and --tool-core need it");
        string[] args = ["-a", "-p", "-c", cores, pid.ToString(CultureInfo.InvariantCulture)];
        var command = "taskset " + string.Join(' ', args);
        var (code, output) = await ChildProcess.RunAsync(taskset, args, Environment.CurrentDirectory, Timeout).ConfigureAwait(false);
        return code == 0 ? command : throw new InvalidOperationException($"{command} failed (exit {code}): {output.Trim()}");
    }

    /// <summary>How many of the process's threads may run on <paramref name="core"/> only, of how many it has now
    /// (<c>Cpus_allowed_list</c> in <c>/proc/PID/task/TID/status</c>).</summary>
    public static (int OnCore, int Threads) Check(int pid, int core)
    {
        int onCore = 0, threads = 0;
        var expected = core.ToString(CultureInfo.InvariantCulture);
        var tasks = Directory.Exists($"/proc/{pid}/task") ? Directory.GetDirectories($"/proc/{pid}/task") : [];
        foreach (var task in tasks)
        {
            try
            {
                var line = File.ReadLines(Path.Combine(task, "status")).FirstOrDefault(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal));
                threads++;
                onCore += line is not null && line["Cpus_allowed_list:".Length..].Trim() == expected ? 1 : 0;
            }
            catch (IOException)
            {
                // The thread ended while we looked.
            }
        }

        return (onCore, threads);
    }
}
