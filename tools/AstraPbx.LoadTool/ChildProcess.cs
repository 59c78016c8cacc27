using System.Diagnostics;
using System.Text;

namespace AstraPbx.LoadTool;

/// <summary>A program other than a .NET service (node, npm, taskset), its output lines handed to a callback.</summary>
internal static class ChildProcess
{
    /// <summary>The full path of <paramref name="program"/> on <c>PATH</c>; null when it is not there.</summary>
    public static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);

    /// <summary>Starts <paramref name="program"/> in <paramref name="workDir"/>; every stdout and stderr line goes to
    /// <paramref name="onLine"/> (from the reader threads).</summary>
    public static Process Start(string program, IEnumerable<string> args, string workDir, IReadOnlyDictionary<string, string>? environment, Action<string> onLine)
    {
        var info = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workDir,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Forward(e.Data);
        process.ErrorDataReceived += (_, e) => Forward(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;

        void Forward(string? line)
        {
            if (line is not null)
            {
                onLine(line);
            }
        }
    }

    /// <summary>Runs <paramref name="program"/> to its end, at most <paramref name="timeout"/> (then kills it and
    /// throws); returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string program, IEnumerable<string> args, string workDir, TimeSpan timeout)
    {
        var output = new StringBuilder();
        using var process = Start(program, args, workDir, null, line =>
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        });
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            throw new TimeoutException($"{Path.GetFileName(program)} {string.Join(' ', args)} did not finish within {timeout.TotalSeconds:0} s:\n{Tail(output)}");
        }

        return (process.ExitCode, Tail(output));
    }

    /// <summary>Kills the process and everything it started; no-op when it has exited.</summary>
    public static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    private static string Tail(StringBuilder output)
    {
        lock (output)
        {
            const int keep = 4000;
            return output.Length <= keep ? output.ToString() : "..." + output.ToString(output.Length - keep, keep);
        }
    }
}
