using System.Diagnostics;

namespace AstraPbx.Deployment.Tests;

/// <summary>External command-line tools the checks run.</summary>
internal static class Tools
{
    public sealed record Result(int ExitCode, string Output, string Error);

    private static readonly SemaphoreSlim Installing = new(1, 1);

    /// <summary>The path of docker-compose, installing it with <c>scripts/ensure-tools</c> when it is missing.</summary>
    public static Task<string> DockerComposeAsync() => RequireAsync("docker-compose", "docker-compose");

    /// <summary>The path of envsubst (package gettext-base), installed the same way.</summary>
    public static Task<string> EnvsubstAsync() => RequireAsync("envsubst", "gettext-base");

    /// <summary>Fails with the reason when a tool cannot be had: in CI that is a broken machine setup, not a skip.</summary>
    private static async Task<string> RequireAsync(string command, string package)
    {
        if (Find(command) is { } found)
        {
            return found;
        }

        await Installing.WaitAsync();
        try
        {
            if (Find(command) is { } installed)
            {
                return installed;
            }

            var ensure = await RunAsync(Repo.PathOf("scripts/ensure-tools"), [], Repo.Root, TimeSpan.FromMinutes(5));
            return Find(command) ?? throw new Xunit.Sdk.XunitException(
                $"{command} is not installed and scripts/ensure-tools could not install it (exit {ensure.ExitCode}: {ensure.Error.Trim()})."
                + (Repo.IsCi ? $" CI=true: the machine setup must provide it (apt-get install {package})." : " Run scripts/ensure-tools as root."));
        }
        finally
        {
            Installing.Release();
        }
    }

    public static async Task<Result> RunAsync(string file, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        var start = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // docker-compose reads these; the test's own environment must not change what it sees.
        foreach (var name in new[] { "COMPOSE_FILE", "COMPOSE_PROJECT_NAME", "COMPOSE_PROFILES", "DOCKER_HOST" })
        {
            start.Environment.Remove(name);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start " + file);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', arguments)} did not finish within {timeout}");
        }

        return new Result(process.ExitCode, await output, await error);
    }

    private static string? Find(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}
