using System.Globalization;
using AstraPbx.LocalRun;

namespace AstraPbx.LoadTool;

/// <summary>A MediaRelay started by the load tool (<c>--start-relay</c>): the Release build output, on free loopback
/// ports, its own broker virtual host, output to a log file. Killed on dispose.</summary>
internal sealed class RelayProcess(ServiceProcess process, int audioSocketPort) : IAsyncDisposable
{
    public int Pid => process.Pid;

    public string LogPath => process.LogPath!;

    public int AudioSocketPort { get; } = audioSocketPort;

    public static RelayProcess Start(string dll, string rabbitMq, int maxSessions, int jitterTargetMs, IEnumerable<string> extraSettings)
    {
        var audioSocketPort = ServiceProcess.FreePort();
        var environment = new Dictionary<string, string?>
        {
            ["ConnectionStrings__rabbitmq"] = rabbitMq,
            ["Urls"] = $"http://127.0.0.1:{ServiceProcess.FreePort()}",
            ["Relay__ListenAddress"] = "127.0.0.1",
            ["Relay__AudioSocketPort"] = audioSocketPort.ToString(CultureInfo.InvariantCulture),
            ["Relay__MaxSessions"] = maxSessions.ToString(CultureInfo.InvariantCulture),
            ["Relay__JitterTargetMs"] = jitterTargetMs.ToString(CultureInfo.InvariantCulture),
            ["Relay__InstanceName"] = "loadtool-relay",
            ["Relay__DrainTimeout"] = "00:00:05",
        };
        foreach (var setting in extraSettings)
        {
            var eq = setting.IndexOf('=', StringComparison.Ordinal);
            environment[setting[..eq].Replace(":", "__", StringComparison.Ordinal)] = setting[(eq + 1)..];
        }

        var logPath = Path.Combine(Path.GetTempPath(), $"astrapbx-loadtool-relay-{Environment.ProcessId}.log");
        return new RelayProcess(ServiceProcess.StartAssembly(dll, [], environment, logPath), audioSocketPort);
    }

    /// <summary>Kills the relay at once: its SIGTERM path would drain for minutes, and the run is over.</summary>
    public ValueTask DisposeAsync() => process.DisposeAsync();
}
