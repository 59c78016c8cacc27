using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace AstraPbx.LoadTool;

/// <summary>A MediaRelay started by the load tool (<c>--start-relay</c>): the Release build output, on free loopback
/// ports, its own broker virtual host, output to a log file. Killed on dispose.</summary>
internal sealed class RelayProcess : IDisposable
{
    private readonly Process _process;

    private RelayProcess(Process process, string logPath, int audioSocketPort)
    {
        _process = process;
        LogPath = logPath;
        AudioSocketPort = audioSocketPort;
    }

    public int Pid => _process.Id;

    public string LogPath { get; }

    public int AudioSocketPort { get; }

    public bool HasExited => _process.HasExited;

    public static RelayProcess Start(string dll, string rabbitMq, int maxSessions, int jitterTargetMs, IEnumerable<string> extraSettings)
    {
        var audioSocketPort = FreePort();
        var logPath = Path.Combine(Path.GetTempPath(), $"astrapbx-loadtool-relay-{Environment.ProcessId}.log");
        var info = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        info.ArgumentList.Add(dll);
        info.Environment.Remove("ASPNETCORE_URLS");
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = null;
        info.Environment["ConnectionStrings__rabbitmq"] = rabbitMq;
        info.Environment["Urls"] = $"http://127.0.0.1:{FreePort()}";
        info.Environment["Relay__ListenAddress"] = "127.0.0.1";
        info.Environment["Relay__AudioSocketPort"] = audioSocketPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["Relay__MaxSessions"] = maxSessions.ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["Relay__JitterTargetMs"] = jitterTargetMs.ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["Relay__InstanceName"] = "loadtool-relay";
        info.Environment["Relay__DrainTimeout"] = "00:00:05";
        foreach (var setting in extraSettings)
        {
            var eq = setting.IndexOf('=', StringComparison.Ordinal);
            info.Environment[setting[..eq].Replace(":", "__", StringComparison.Ordinal)] = setting[(eq + 1)..];
        }

        var process = new Process { StartInfo = info };
        var log = new StreamWriter(logPath) { AutoFlush = true };
        var sync = new Lock();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (sync) { log.WriteLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (sync) { log.WriteLine(e.Data); } } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new RelayProcess(process, logPath, audioSocketPort);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            // SIGTERM path would drain for minutes; the run is over, so end it at once.
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }

        _process.Dispose();
    }
}
