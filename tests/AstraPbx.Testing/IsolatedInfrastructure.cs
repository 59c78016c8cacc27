using System.Diagnostics;
using AstraPbx.LocalRun;
using Xunit;

namespace AstraPbx.Testing;

/// <summary>A RabbitMQ and a PostgreSQL of the test's own, for tests that kill them: <c>scripts/infra</c> with
/// <c>ASTRAPBX_INFRA_DIR</c> set to a fresh temporary folder and free ports, so the shared broker and database are
/// never touched. As an xUnit class fixture it is up before the first test and down (data removed) after the last;
/// in between a test can kill the broker (SIGKILL), start it again, and stop or start the database.</summary>
public sealed class IsolatedInfrastructure : IAsyncLifetime
{
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromMinutes(3);

    private readonly Dictionary<string, string> _variables;

    public IsolatedInfrastructure()
    {
        Folder = Path.Combine(Path.GetTempPath(), "astrapbx-isolated-" + Guid.NewGuid().ToString("N")[..12]);
        AmqpPort = ServiceProcess.FreePort();
        _variables = new Dictionary<string, string>
        {
            ["ASTRAPBX_INFRA_DIR"] = Folder,
            ["ASTRAPBX_AMQP_PORT"] = AmqpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["ASTRAPBX_RABBIT_MGMT_PORT"] = ServiceProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["ASTRAPBX_RABBIT_DIST_PORT"] = ServiceProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["ASTRAPBX_PG_PORT"] = ServiceProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
    }

    /// <summary>The data folder (<c>ASTRAPBX_INFRA_DIR</c>); removed by <see cref="DownAsync"/>.</summary>
    public string Folder { get; }

    /// <summary>The broker's AMQP port on 127.0.0.1.</summary>
    public int AmqpPort { get; }

    /// <summary>The broker's AMQP URL (virtual host <c>/</c>), from <c>env</c> once up.</summary>
    public string RabbitMq { get; private set; } = "";

    /// <summary>The broker's management API with its credentials, from <c>env</c> once up.</summary>
    public string RabbitMqManagement { get; private set; } = "";

    /// <summary>The database's Npgsql connection string, from <c>env</c> once up.</summary>
    public string Postgres { get; private set; } = "";

    /// <summary>Starts both (about 8 s) and reads the connection strings from <c>env</c>.</summary>
    public async Task UpAsync()
    {
        await RunAsync("up");
        foreach (var line in await File.ReadAllLinesAsync(Path.Combine(Folder, "env")))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (line.StartsWith('#') || eq <= 0)
            {
                continue;
            }

            var value = line[(eq + 1)..].Trim().Trim('\'', '"');
            switch (line[..eq].Trim())
            {
                case "ASTRAPBX_RABBITMQ": RabbitMq = value; break;
                case "ASTRAPBX_RABBITMQ_MANAGEMENT": RabbitMqManagement = value; break;
                case "ASTRAPBX_POSTGRES": Postgres = value; break;
            }
        }
    }

    /// <summary>Stops both and removes their data.</summary>
    public Task DownAsync() => RunAsync("down");

    /// <summary>SIGKILLs the broker node; its data stays for <see cref="StartRabbitMqAsync"/>.</summary>
    public Task KillRabbitMqAsync() => RunAsync("kill-rabbitmq");

    /// <summary>Starts the broker on its data and returns once its management API answers (about 5 s).</summary>
    public Task StartRabbitMqAsync() => RunAsync("start-rabbitmq");

    /// <summary>Stops the database server (fast mode); its data stays.</summary>
    public Task StopPostgresAsync() => RunAsync("stop-postgresql");

    public Task StartPostgresAsync() => RunAsync("start-postgresql");

    async Task IAsyncLifetime.InitializeAsync()
    {
        try
        {
            await UpAsync();
        }
        catch
        {
            // A half-started instance would outlive the test run.
            await DownAsync();
            throw;
        }
    }

    Task IAsyncLifetime.DisposeAsync() => DownAsync();

    private async Task RunAsync(string verb)
    {
        var start = new ProcessStartInfo("bash", [Path.Combine(TestEnvironment.RepoRoot, "scripts", "infra"), verb])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in _variables)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not run scripts/infra");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(ScriptTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"scripts/infra {verb} ({Folder}) did not finish within {ScriptTimeout.TotalMinutes} min");
        }

        if (process.ExitCode != 0)
        {
            // scripts/infra prints connection strings with their passwords masked.
            throw new InvalidOperationException($"scripts/infra {verb} ({Folder}) exited {process.ExitCode}:\n{await output}{await errors}");
        }
    }
}
