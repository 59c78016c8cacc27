using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace AstraPbx.LocalRun;

/// <summary>One AstraPbx service (or tool) run as its own process from its build output, as a user deploys it.
/// Captures every output line, in memory or in a log file; killed on dispose.</summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly StreamWriter? _log;
    private readonly Lock _logLock = new();
    private bool _logClosed;
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServiceProcess(Process process, string? logPath)
    {
        _process = process;
        LogPath = logPath;
        _log = logPath is null ? null : new StreamWriter(logPath) { AutoFlush = true };
    }

    /// <summary>Everything the process wrote to stdout and stderr so far (empty when it goes to <see cref="LogPath"/>).</summary>
    public IReadOnlyCollection<string> Output => _output;

    public string OutputText => string.Join('\n', _output);

    /// <summary>The file the output goes to instead of memory, if one was given.</summary>
    public string? LogPath { get; }

    public int Pid => _process.Id;

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

    public static ServiceProcess Start(string project, IEnumerable<string> args, IReadOnlyDictionary<string, string?> environment) =>
        StartAssembly(AssemblyPath(project), args, environment);

    /// <summary>Starts a built assembly with <c>dotnet</c>, in its own folder, with <paramref name="environment"/> over a
    /// clean production environment. <paramref name="logPath"/>: write the output there instead of keeping it in
    /// memory (a long run prints more than memory should hold).</summary>
    public static ServiceProcess StartAssembly(string assemblyPath, IEnumerable<string> args, IReadOnlyDictionary<string, string?> environment, string? logPath = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(assemblyPath)!,
        };
        info.ArgumentList.Add(assemblyPath);
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
        var service = new ServiceProcess(process, logPath);
        process.OutputDataReceived += (_, e) => service.Capture(e.Data);
        process.ErrorDataReceived += (_, e) => service.Capture(e.Data);
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

    private void Capture(string? line)
    {
        if (line is null)
        {
            return;
        }

        if (_log is null)
        {
            _output.Enqueue(line);
            return;
        }

        lock (_logLock)
        {
            if (!_logClosed)
            {
                _log.WriteLine(line);
            }
        }
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

    /// <summary>The lowest port of the kernel's ephemeral range (where outgoing connections take their local port).</summary>
    private static readonly int EphemeralLow = ReadEphemeralLow();

    /// <summary>Below <see cref="EphemeralLow"/>: where <see cref="FreePort"/> looks.</summary>
    private const int ListenLow = 20000;

    private static int s_nextPort = ListenLow + Random.Shared.Next(4096);

    /// <summary>A port on 127.0.0.1 that was free a moment ago, for a process about to listen on it. It is taken below
    /// the kernel's ephemeral range, so that no outgoing connection (of the tests, the services, the broker) can be
    /// given it as its local port before the process binds it, as a port the kernel picked (port 0) can be; and never
    /// the same port twice in one process.</summary>
    public static int FreePort()
    {
        for (var tries = 0; EphemeralLow - ListenLow > 1000 && tries < 1000; tries++)
        {
            var port = ListenLow + (int)((uint)(Interlocked.Increment(ref s_nextPort) - ListenLow) % (uint)(EphemeralLow - ListenLow));
            try
            {
                using var probe = new TcpListener(IPAddress.Loopback, port);
                probe.Start();
                return port;
            }
            catch (SocketException)
            {
                // In use: the next one.
            }
        }

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static int ReadEphemeralLow()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return int.Parse(range[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            // Not Linux: the IANA dynamic range begins at 49152.
            return 49152;
        }
    }

    /// <summary>SIGKILL (<see cref="Process.Kill()"/> on Linux), as a crash or an OOM kill ends a service: no shutdown
    /// hooks, no graceful close of its connections. Returns once the process is gone.</summary>
    public async Task KillAsync()
    {
        try
        {
            _process.Kill();
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }

        await _exited.Task.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
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
        if (_log is not null)
        {
            lock (_logLock)
            {
                _logClosed = true;
                _log.Dispose();
            }
        }
    }
}
