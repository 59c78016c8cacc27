using Grpc.Health.V1;
using Grpc.Net.Client;

namespace AstraPbx.LocalRun;

/// <summary>One service of a <see cref="LocalDeployment"/>, run as a process that can be SIGKILLed and started again
/// with the same settings (on a new port). Every process it ran is kept, so the logs show what each one printed.</summary>
public sealed class DeployedService : IAsyncDisposable
{
    private static readonly TimeSpan ServingPatience = TimeSpan.FromSeconds(90);
    private readonly List<ServiceProcess> _processes = [];
    private readonly IReadOnlyDictionary<string, string?> _settings;

    internal DeployedService(string name, string project, IReadOnlyDictionary<string, string?> settings)
    {
        Name = name;
        Project = project;
        _settings = settings;
    }

    /// <summary>The instance's name in logs, e.g. <c>routing-2</c>.</summary>
    public string Name { get; }

    /// <summary>The service's project (and assembly) name, e.g. <c>AstraPbx.Routing</c>.</summary>
    public string Project { get; }

    /// <summary>The current (latest) process.</summary>
    public ServiceProcess Process => _processes[^1];

    /// <summary>Every process started for this service, oldest first.</summary>
    public IReadOnlyList<ServiceProcess> Processes => _processes;

    /// <summary>The current process's gRPC (health) URL.</summary>
    public string Url { get; private set; } = "";

    /// <summary>True once <see cref="KillAsync"/> ended it, until <see cref="StartAgainAsync"/>.</summary>
    public bool Killed { get; private set; }

    /// <summary>True while the current process runs.</summary>
    public bool Running => _processes.Count > 0 && !Process.Exited.IsCompleted;

    internal void Start()
    {
        Url = $"http://127.0.0.1:{ServiceProcess.FreePort()}";
        var settings = new Dictionary<string, string?>(_settings, StringComparer.Ordinal) { ["Urls"] = Url };
        _processes.Add(ServiceProcess.Start(Project, [], settings));
        Killed = false;
    }

    /// <summary>SIGKILLs the current process (see <see cref="ServiceProcess.KillAsync"/>); returns once it is gone.</summary>
    public async Task KillAsync()
    {
        Killed = true;
        await Process.KillAsync().ConfigureAwait(false);
    }

    /// <summary>Starts a new process with the same settings and waits until it reports SERVING.</summary>
    public async Task StartAgainAsync()
    {
        if (Running)
        {
            throw new InvalidOperationException($"{Name} is still running; kill it first");
        }

        Start();
        await WaitServingAsync().ConfigureAwait(false);
    }

    /// <summary>Waits until the current process reports SERVING on <c>grpc.health.v1.Health/Check</c>; fails with its
    /// output when it exits or does not within 90 s.</summary>
    public async Task WaitServingAsync()
    {
        var process = Process;
        var deadline = DateTime.UtcNow + ServingPatience;
        using var channel = GrpcChannel.ForAddress(Url);
        var client = new Health.HealthClient(channel);
        while (true)
        {
            if (process.Exited.IsCompleted)
            {
                throw new InvalidOperationException($"{Name} exited with {process.Exited.Result}:\n{process.OutputText}");
            }

            try
            {
                var reply = await client.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(5)).ConfigureAwait(false);
                if (reply.Status == HealthCheckResponse.Types.ServingStatus.Serving)
                {
                    return;
                }
            }
            catch (Grpc.Core.RpcException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{Name} did not report SERVING within {ServingPatience.TotalSeconds:0} s:\n{process.OutputText}");
            }

            await Task.Delay(200).ConfigureAwait(false);
        }
    }

    /// <summary>What every process of this service printed, oldest first.</summary>
    public string OutputText() => string.Join('\n', _processes.Select(p => p.OutputText));

    /// <summary>Writes each process's output to <c>prefix-name.log</c> (<c>prefix-name.N.log</c> for the Nth start
    /// after a kill).</summary>
    public async Task WriteLogsAsync(string folder, string prefix)
    {
        for (var i = 0; i < _processes.Count; i++)
        {
            var file = i == 0 ? $"{prefix}-{Name}.log" : $"{prefix}-{Name}.{i + 1}.log";
            await File.WriteAllTextAsync(Path.Combine(folder, file), _processes[i].OutputText).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            await process.DisposeAsync().ConfigureAwait(false);
        }
    }
}
