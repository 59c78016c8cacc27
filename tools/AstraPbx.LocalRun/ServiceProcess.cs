using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace AstraPbx.LocalRun;

/// <summary>One AstraPbx service (or tool) run as its own process from its build output, as a user deploys it.
/// Captures every output line; killed on dispose.</summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServiceProcess(Process process)
    {
        _process = process;
    }

    /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
    public IReadOnlyCollection<string> Output => _output;

    public string OutputText => string.Join('\n', _output);

    public Task<int> Exited => _exited.Task;

    /// <summary>The build output of <paramref name="project"/> (e.g. <c>AstraPbx.Routing</c>) under
    /// <c>services/</c> or <c>tools/</c>, built in the same configuration as the tests.</summary>
    public static string AssemblyPath(string project)
    {
#if DEBUG
        const string configuration = "Debug";
#else
        const string configuration = "Release";
#endif
        foreach (var folder in new[] { "services", "tools" })
        {
            var path = Path.Combine(RepoPaths.Root, folder, project, "bin", configuration, "net10.0", project + ".dll");
            if (File.Exists(path))
            {
                return path;
            }
        }

        throw new FileNotFoundException($"{project}.dll not built; build AstraPbx.sln in {configuration} first");
    }

    public static ServiceProcess Start(string project, IEnumerable<string> args, IReadOnlyDictionary<string, string?> environment)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(AssemblyPath(project))!,
        };
        info.ArgumentList.Add(AssemblyPath(project));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        // The child must not inherit test-host variables that change its configuration.
        info.Environment.Remove("ASPNETCORE_URLS");
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = null;
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var service = new ServiceProcess(process);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) service._output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) service._output.Enqueue(e.Data); };
        process.Exited += (_, _) =>
        {
            // Exited fires before the last output lines are read; WaitForExit() drains them.
            process.WaitForExit();
            service._exited.TrySetResult(process.ExitCode);
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return service;
    }

    /// <summary>Runs a process to its end and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string project, IEnumerable<string> args, IReadOnlyDictionary<string, string?> environment, TimeSpan timeout)
    {
        await using var process = Start(project, args, environment);
        int code;
        try
        {
            code = await process.Exited.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{project} {string.Join(' ', args)} did not exit within {timeout.TotalSeconds:0} s:\n{process.OutputText}");
        }

        return (code, process.OutputText);
    }

    /// <summary>A port on 127.0.0.1 that was free a moment ago.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try
            {
                _process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }

            await _exited.Task.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }

        _process.Dispose();
    }
}
