namespace AstraPbx.Testing;

/// <summary>Where the tests find the broker and the database: environment variables first, then the
/// <c>.infra/env</c> file that <c>scripts/infra up</c> writes.</summary>
public static class TestEnvironment
{
    public const string RabbitMqVariable = "ASTRAPBX_RABBITMQ";
    public const string RabbitMqManagementVariable = "ASTRAPBX_RABBITMQ_MANAGEMENT";
    public const string PostgresVariable = "ASTRAPBX_POSTGRES";

    private static readonly Lazy<IReadOnlyDictionary<string, string>> EnvFile = new(ReadEnvFile);

    /// <summary>The repository root: the first folder above the test binaries that holds <c>AstraPbx.sln</c>.</summary>
    public static string RepoRoot => AstraPbx.LocalRun.RepoPaths.Root;

    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static string? Get(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value
        : EnvFile.Value.TryGetValue(name, out var fromFile) ? fromFile : null;

    public const string HowToStart =
        "Start the local broker and database with 'scripts/infra up' (it writes .infra/env), or set " +
        RabbitMqVariable + ", " + RabbitMqManagementVariable + " and " + PostgresVariable + ", or run where a Docker engine is reachable.";

    private static IReadOnlyDictionary<string, string> ReadEnvFile()
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var path = Path.Combine(RepoRoot, ".infra", "env");
        if (!File.Exists(path))
        {
            return values;
        }

        foreach (var line in File.ReadAllLines(path))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (line.StartsWith('#') || eq <= 0)
            {
                continue;
            }

            values[line[..eq].Trim()] = line[(eq + 1)..].Trim().Trim('\'');
        }

        return values;
    }

    /// <summary>True when a Docker engine answers on its default socket or <c>DOCKER_HOST</c>.</summary>
    public static bool DockerEngineReachable()
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOCKER_HOST")))
        {
            return true;
        }

        const string socketPath = "/var/run/docker.sock";
        if (!File.Exists(socketPath))
        {
            return false;
        }

        try
        {
            using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
            socket.Connect(new System.Net.Sockets.UnixDomainSocketEndPoint(socketPath));
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }
}
