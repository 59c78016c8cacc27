using System.Diagnostics;

namespace AstraPbx.Deployment.Tests;

/// <summary>External command-line tools the checks run.</summary>
internal static class Tools
{
    public sealed record Result(int ExitCode, string Output, string Error);

    /// <summary>The path of docker-compose, installing it with <c>scripts/ensure-tools</c> when it is missing.
    /// Fails with the reason when it cannot be had (in CI that is a broken machine setup, not a skip).</summary>
    public static async Task<string> DockerComposeAsync()
    {
        if (Find("docker-compose") is { } found)
        {
            return found;
        }

        var ensure = await RunAsync(Repo.PathOf("scripts/ensure-tools"), [], Repo.Root, TimeSpan.FromMinutes(5));
        return Find("docker-compose") ?? throw new Xunit.Sdk.XunitException(
            $"docker-compose is not installed and scripts/ensure-tools could not install it (exit {ensure.ExitCode}: {ensure.Error.Trim()})."
            + (Repo.IsCi ? " CI=true: the machine setup must provide it (apt-get install docker-compose)." : " Run scripts/ensure-tools as root."));
    }

    public static async Task<Result> RunAsync(string file, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout)
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
