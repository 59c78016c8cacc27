using System.Globalization;
using AstraPbx.LocalRun;

namespace AstraPbx.LoadTool;

/// <summary>With <c>--tool-core</c>: the local broker (the RabbitMQ <c>scripts/infra</c> runs, found by its pid file)
/// and every process it started go to the tool's core for the run, and back to every core after it. The relay's core is
/// then the relay's alone, as the set-up has it ("everything else on the other"). Left where it was, the broker
/// took the relay's core for 75 ms in 140 at one moment of a run (<c>perf record -e sched:sched_switch -C 1</c>): the
/// Erlang VM RabbitMQ 3.10 starts every 60 s to make sure epmd runs (<c>epmd-starter-N</c>, about 250 ms of CPU; RabbitMQ
/// PR #10457 stops it in 3.11+), and the relay's ticks took 41-48 ms. Processes the broker starts later (that VM among
/// them) are started by its <c>erl_child_setup</c>, pinned here, and inherit the core. (<c>scripts/infra</c> now also stops
/// that VM's monitor; a broker started otherwise may still have it.)</summary>
internal static class BrokerPinning
{
    /// <summary>The broker's pid file, as <c>scripts/infra</c> writes it.</summary>
    public static string PidFile => Path.Combine(RepoPaths.Root, ".infra", "rabbitmq", "rabbit.pid");

    /// <summary>The broker's pid and those of the processes below it; empty when no local broker runs.</summary>
    public static IReadOnlyList<int> Find()
    {
        int broker;
        try
        {
            if (!int.TryParse(File.ReadAllText(PidFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out broker)
                || !Directory.Exists($"/proc/{broker}"))
            {
                return [];
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }

        var parents = new Dictionary<int, int>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && ParentOf(pid) is { } parent)
            {
                parents[pid] = parent;
            }
        }

        return Descendants(broker, parents);
    }

    /// <summary><paramref name="root"/> and every process below it in <paramref name="parents"/> (pid to parent pid).</summary>
    internal static IReadOnlyList<int> Descendants(int root, IReadOnlyDictionary<int, int> parents)
    {
        var found = new List<int> { root };
        for (var i = 0; i < found.Count; i++)
        {
            found.AddRange(parents.Where(p => p.Value == found[i]).Select(p => p.Key).Order());
        }

        return found;
    }

    /// <summary>The parent pid from <c>/proc/PID/stat</c> (the field after the parenthesised name, which may hold
    /// spaces and parentheses itself); null when the process is gone.</summary>
    internal static int? ParentOf(int pid)
    {
        try
        {
            return ParseParent(File.ReadAllText($"/proc/{pid}/stat"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    internal static int? ParseParent(string stat)
    {
        var close = stat.LastIndexOf(')');
        var fields = close < 0 ? [] : stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length > 1 && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var parent) ? parent : null;
    }

    /// <summary>Pins the broker's processes to <paramref name="core"/>; returns them (to give back) and a line for the
    /// report. A process that ended meanwhile is skipped.</summary>
    public static async Task<(IReadOnlyList<int> Pinned, string Report)> PinAsync(int core)
    {
        var processes = Find();
        if (processes.Count == 0)
        {
            return ([], $"broker: no local broker ({PidFile}); not pinned");
        }

        var pinned = new List<int>();
        foreach (var pid in processes)
        {
            try
            {
                await CorePinning.PinAsync(pid, core).ConfigureAwait(false);
                pinned.Add(pid);
            }
            catch (InvalidOperationException) when (!Directory.Exists($"/proc/{pid}"))
            {
                // It ended between the listing and the taskset.
            }
        }

        return (pinned, $"broker pinned to core {core}: pid {processes[0]} and {pinned.Count - 1} processes it started (taskset -a -p -c {core} each)");
    }

    /// <summary>Gives the processes every core back.</summary>
    public static async Task UnpinAsync(IReadOnlyList<int> pids)
    {
        var all = $"0-{Environment.ProcessorCount - 1}";
        foreach (var pid in pids)
        {
            try
            {
                await CorePinning.PinAsync(pid, all).ConfigureAwait(false);
            }
            catch (InvalidOperationException) when (!Directory.Exists($"/proc/{pid}"))
            {
                // Gone.
            }
        }
    }
}
