using AstraPbx.LocalRun;
using AstraPbx.LocalRun.Infrastructure;

namespace AstraPbx.Testing;

/// <summary>Where the tests find the broker and the database (<see cref="LocalEnvironment"/>: environment variables
/// first, then the <c>.infra/env</c> file that <c>scripts/infra up</c> writes), and whether a Docker engine can stand
/// in for them.</summary>
public static class TestEnvironment
{
    public const string RabbitMqVariable = LocalEnvironment.RabbitMqVariable;
    public const string RabbitMqManagementVariable = LocalEnvironment.RabbitMqManagementVariable;
    public const string PostgresVariable = LocalEnvironment.PostgresVariable;

    /// <summary>The repository root: the first folder above the test binaries that holds <c>AstraPbx.sln</c>.</summary>
    public static string RepoRoot => RepoPaths.Root;

    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static string? Get(string name) => LocalEnvironment.Get(name);

    public const string HowToStart = LocalEnvironment.HowToStart + ", or run where a Docker engine is reachable.";

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
