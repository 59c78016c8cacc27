namespace AstraPbx.Deployment.Tests;

/// <summary>The project's shell scripts parse. A script runs line by line, so a quoting slip in a part that runs last
/// (a report printed after a half-hour benchmark) only shows when that part is reached: <c>scripts/bench-relays</c>
/// measured four rounds and then failed on its table, an apostrophe in a column name ending its quoted awk program.</summary>
public sealed class ShellScriptTests
{
    public static readonly TheoryData<string> Scripts = new(FindScripts());

    [Theory]
    [MemberData(nameof(Scripts))]
    public async Task Script_parses(string script)
    {
        var shell = File.ReadLines(Repo.PathOf(script)).First().Contains("bash", StringComparison.Ordinal) ? "bash" : "sh";
        var result = await Tools.RunAsync(shell, ["-n", script], Repo.Root, TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, $"{shell} -n {script}: {result.Error}");
    }

    [Fact]
    public void The_scripts_are_found()
    {
        Assert.Contains("scripts/bench-relays", FindScripts());
        Assert.Contains(".ci/run", FindScripts());
        Assert.Contains("asterisk/docker-entrypoint.sh", FindScripts());
    }

    /// <summary>Every file with a shell shebang in the folders that hold the project's scripts.</summary>
    private static string[] FindScripts() =>
        new[] { "scripts", ".ci", "asterisk" }
            .Where(folder => Directory.Exists(Repo.PathOf(folder)))
            .SelectMany(folder => Directory.EnumerateFiles(Repo.PathOf(folder), "*", SearchOption.AllDirectories))
            .Where(path => File.ReadLines(path).FirstOrDefault() is { } first && first.StartsWith("#!", StringComparison.Ordinal)
                && (first.EndsWith("/sh", StringComparison.Ordinal) || first.Contains("bash", StringComparison.Ordinal)))
            .Select(path => Path.GetRelativePath(Repo.Root, path).Replace('\\', '/'))
            .Order(StringComparer.Ordinal)
            .ToArray();
}
