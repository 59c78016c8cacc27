using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AstraPbx.LocalRun.Infrastructure;

/// <summary>A private RabbitMQ and PostgreSQL for fault injection, never the shared ones: <c>scripts/infra</c> run with
/// its own data folder (<c>.infra/fault-*</c>, git-ignored) and its own loopback ports. The broker can be SIGKILLed and
/// started again, the database stopped and started again, with their data kept. Always brought down (and its folder
/// deleted) on dispose.</summary>
public sealed class FaultInfrastructure : IAsyncDisposable
{
    /// <summary>Beside the instance's folder: who owns it and on which ports, so that a later run can bring down an
    /// instance whose owner died without its dispose (a killed test host).</summary>
    private const string OwnerSuffix = ".owner";
    private const string FolderPrefix = "fault-";
    private static readonly string[] PortVariables =
        ["ASTRAPBX_AMQP_PORT", "ASTRAPBX_RABBIT_MGMT_PORT", "ASTRAPBX_RABBIT_DIST_PORT", "ASTRAPBX_PG_PORT"];

    private readonly Dictionary<string, string?> _environment;
    private readonly Action<string>? _log;
    private int _disposed;

    private FaultInfrastructure(string folder, IReadOnlyList<int> ports, Action<string>? log)
    {
        Folder = folder;
        _log = log;
        AmqpPort = ports[0];
        PostgresPort = ports[3];
        _environment = new Dictionary<string, string?>(StringComparer.Ordinal) { ["ASTRAPBX_INFRA_DIR"] = folder };
        for (var i = 0; i < PortVariables.Length; i++)
        {
            _environment[PortVariables[i]] = Invariant(ports[i]);
        }
    }

    /// <summary>The data folder (under the repository's <c>.infra/</c>).</summary>
    public string Folder { get; }

    public int AmqpPort { get; }

    public int PostgresPort { get; }

    /// <summary>AMQP URL of the private broker (virtual host <c>/</c>; it holds nothing else).</summary>
    public string RabbitMq { get; private set; } = "";

    /// <summary>Management API URL with its credentials.</summary>
    public string RabbitMqManagement { get; private set; } = "";

    /// <summary>Npgsql connection string of the private server's <c>astrapbx</c> database (created empty).</summary>
    public string Postgres { get; private set; } = "";

    /// <summary>Runs <c>scripts/infra up</c> on free ports and a fresh folder; returns once both answer.</summary>
    public static async Task<FaultInfrastructure> StartAsync(Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        var parent = Path.Combine(RepoPaths.Root, ".infra");
        await BringDownAbandonedAsync(parent, log).ConfigureAwait(false);
        var folder = Path.Combine(parent, FolderPrefix + Guid.NewGuid().ToString("N")[..8]);
        var ports = FreePorts(PortVariables.Length);
        Directory.CreateDirectory(parent);
        await File.WriteAllLinesAsync(folder + OwnerSuffix, [Invariant(Environment.ProcessId), .. ports.Select(Invariant)], cancellationToken)
            .ConfigureAwait(false);
        var infrastructure = new FaultInfrastructure(folder, ports, log);
        try
        {
            await infrastructure.RunAsync("up", TimeSpan.FromSeconds(180), cancellationToken).ConfigureAwait(false);
            var values = LocalEnvironment.ReadFile(Path.Combine(folder, "env"));
            infrastructure.RabbitMq = values[LocalEnvironment.RabbitMqVariable];
            infrastructure.RabbitMqManagement = values[LocalEnvironment.RabbitMqManagementVariable];
            infrastructure.Postgres = values[LocalEnvironment.PostgresVariable];
            return infrastructure;
        }
        catch
        {
            await infrastructure.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>SIGKILLs the broker node (its data stays): clients see their connections reset.</summary>
    public Task KillRabbitMqAsync(CancellationToken cancellationToken = default) =>
        RunAsync("kill-rabbitmq", TimeSpan.FromSeconds(60), cancellationToken);

    /// <summary>Starts the broker again on the same port and data (nothing happens when it runs); returns once it answers.</summary>
    public Task StartRabbitMqAsync(CancellationToken cancellationToken = default) =>
        RunAsync("start-rabbitmq", TimeSpan.FromSeconds(180), cancellationToken);

    /// <summary>Stops the database server (fast mode: open sessions are ended).</summary>
    public Task StopPostgresAsync(CancellationToken cancellationToken = default) =>
        RunAsync("stop-postgresql", TimeSpan.FromSeconds(60), cancellationToken);

    /// <summary>Starts the database server again (nothing happens when it runs); returns once it accepts connections.</summary>
    public Task StartPostgresAsync(CancellationToken cancellationToken = default) =>
        RunAsync("start-postgresql", TimeSpan.FromSeconds(120), cancellationToken);

    /// <summary>Copies the broker's and the database's own logs to <paramref name="folder"/> as <c>prefix-*.log</c>.</summary>
    public void CopyLogs(string folder, string prefix)
    {
        Directory.CreateDirectory(folder);
        var logs = new[]
        {
            (Path.Combine(Folder, "postgres", "postgres.log"), "postgresql"),
            (Path.Combine(Folder, "rabbitmq", "log", "console.log"), "rabbitmq"),
        };
        foreach (var (source, name) in logs)
        {
            if (File.Exists(source))
            {
                File.Copy(source, Path.Combine(folder, $"{prefix}-{name}.log"), overwrite: true);
            }
        }
    }

    /// <summary><c>scripts/infra down</c>: stops both and deletes the folder. Errors are reported, not thrown, so that a
    /// failing test or run still cleans up.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        try
        {
            await RunAsync("down", TimeSpan.FromSeconds(120), CancellationToken.None).ConfigureAwait(false);
            File.Delete(Folder + OwnerSuffix);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            _log?.Invoke("fault infrastructure: " + e.Message);
        }
    }

    /// <summary>Brings down every instance under <paramref name="parent"/> whose owning process is gone: a test host or
    /// runner killed before its dispose leaves a broker and a database running, and only their owner knew them.</summary>
    private static async Task BringDownAbandonedAsync(string parent, Action<string>? log)
    {
        if (!Directory.Exists(parent))
        {
            return;
        }

        foreach (var owner in Directory.GetFiles(parent, FolderPrefix + "*" + OwnerSuffix))
        {
            var lines = await File.ReadAllLinesAsync(owner).ConfigureAwait(false);
            if (lines.Length != PortVariables.Length + 1 || !TryParse(lines[0], out var pid) || IsAlive(pid)
                || !Array.TrueForAll(lines[1..], l => TryParse(l, out _)))
            {
                continue;
            }

            var folder = owner[..^OwnerSuffix.Length];
            log?.Invoke($"fault infrastructure: bringing down {Path.GetFileName(folder)}, abandoned by process {pid}");
            await using var abandoned = new FaultInfrastructure(folder, [.. lines[1..].Select(l => int.Parse(l, System.Globalization.CultureInfo.InvariantCulture))], log);
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>Runs one <c>scripts/infra</c> command against this instance. Its output names no secret (the script
    /// masks the passwords), so it may go into exception messages.</summary>
    private async Task RunAsync(string command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepoPaths.Root,
        };
        info.ArgumentList.Add(Path.Combine(RepoPaths.Root, "scripts", "infra"));
        info.ArgumentList.Add(command);
        foreach (var (key, value) in _environment)
        {
            info.Environment[key] = value;
        }

        var output = new StringBuilder();
        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        var clock = Stopwatch.StartNew();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException($"scripts/infra {command} did not finish within {timeout.TotalSeconds:0} s:\n{Text(output)}");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"scripts/infra {command} exited with {process.ExitCode}:\n{Text(output)}");
        }

        _log?.Invoke($"fault infrastructure: {command} took {clock.Elapsed.TotalSeconds:0.0} s");
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }

    private static string Text(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }

    /// <summary>Distinct free loopback ports below Linux's ephemeral range (32768 and up): a broker or database restarted
    /// on its old port must not find it taken by some client's outgoing connection meanwhile.</summary>
    private static int[] FreePorts(int count)
    {
        var ports = new List<int>(count);
        while (ports.Count < count)
        {
            var port = Random.Shared.Next(20000, 32000);
            if (!ports.Contains(port) && IsFree(port))
            {
                ports.Add(port);
            }
        }

        return [.. ports];
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static bool TryParse(string text, out int value) =>
        int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out value);

    private static string Invariant(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
