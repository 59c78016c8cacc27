using System.Diagnostics;
using System.Globalization;

namespace AstraPbx.MediaRelay.Capacity;

/// <summary>The process's CPU time and the CPU it may use: the cgroup v2 quota (<c>cpu.max</c>, what a Kubernetes CPU
/// limit sets) when there is one, else its processors.</summary>
public class CpuSampler
{
    private readonly Process _process = Process.GetCurrentProcess();

    /// <summary>CPU cores available to the process.</summary>
    public virtual double AvailableCores { get; } = QuotaCores("/sys/fs/cgroup/cpu.max") ?? Environment.ProcessorCount;

    /// <summary>CPU time used by the process since it started.</summary>
    public virtual TimeSpan CpuTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>Cores from a cgroup v2 <c>cpu.max</c> file (<c>"200000 100000"</c> is 2 cores); null for <c>max</c>
    /// (no quota), a missing file or one that does not parse.</summary>
    internal static double? QuotaCores(string path)
    {
        try
        {
            return File.Exists(path) ? ParseCpuMax(File.ReadAllText(path)) : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    internal static double? ParseCpuMax(string text)
    {
        var parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length != 2 || parts[0] == "max"
            || !double.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var quota)
            || !double.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var period) || period <= 0 || quota <= 0)
        {
            return null;
        }

        return quota / period;
    }
}
