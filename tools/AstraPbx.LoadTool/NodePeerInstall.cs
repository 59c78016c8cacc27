using AstraPbx.LocalRun;

namespace AstraPbx.LoadTool;

/// <summary>The benchmark peer's working copy. The peer's folder (<c>../shared/peers/node-seed-relay</c>) is shared
/// and read-only, so its files are copied into the repository's git-ignored <c>.bench/node-seed-relay</c> and its one
/// dependency (<c>ws</c>) is installed there by npm on first use, and again only when its package.json changes.</summary>
internal static class NodePeerInstall
{
    private const string Stamp = ".installed-package.json";
    private static readonly TimeSpan InstallTimeout = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan VersionTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The peer beside the repository: <c>&lt;repo&gt;/../shared/peers/node-seed-relay</c>.</summary>
    public static string DefaultSource => Path.GetFullPath(Path.Combine(RepoPaths.Root, "..", "shared", "peers", "node-seed-relay"));

    /// <summary>Copies the peer from <paramref name="source"/> (default <see cref="DefaultSource"/>), installs its
    /// dependency if needed; returns the folder to run it in, the node executable and its version.</summary>
    /// <exception cref="InvalidOperationException">node or npm missing, or npm install failed.</exception>
    public static async Task<(string WorkDir, string Node, string NodeVersion)> PrepareAsync(string? source)
    {
        var node = ChildProcess.FindOnPath("node")
            ?? throw new InvalidOperationException("node not found on PATH: --peer node needs Node.js 18 or later and npm (e.g. apt-get install nodejs npm)");
        source = Path.GetFullPath(source ?? DefaultSource);
        if (!File.Exists(Path.Combine(source, "relay.js")) || !File.Exists(Path.Combine(source, "package.json")))
        {
            throw new InvalidOperationException($"no relay.js and package.json in {source}: pass --peer-dir");
        }

        var work = Path.Combine(RepoPaths.Root, ".bench", "node-seed-relay");
        Directory.CreateDirectory(work);
        foreach (var file in Directory.GetFiles(source))
        {
            CopyIfChanged(file, Path.Combine(work, Path.GetFileName(file)));
        }

        var package = File.ReadAllBytes(Path.Combine(work, "package.json"));
        var stamp = Path.Combine(work, Stamp);
        if (!Directory.Exists(Path.Combine(work, "node_modules")) || !File.Exists(stamp) || !File.ReadAllBytes(stamp).AsSpan().SequenceEqual(package))
        {
            await InstallAsync(work).ConfigureAwait(false);
            File.WriteAllBytes(stamp, package);
        }

        var (code, version) = await ChildProcess.RunAsync(node, ["--version"], work, VersionTimeout).ConfigureAwait(false);
        return code == 0 ? (work, node, version.Trim()) : throw new InvalidOperationException($"node --version failed (exit {code}): {version.Trim()}");
    }

    private static async Task InstallAsync(string work)
    {
        var npm = ChildProcess.FindOnPath("npm")
            ?? throw new InvalidOperationException("npm not found on PATH: --peer node installs the peer's dependency (ws) with it (e.g. apt-get install npm)");
        // A half-finished earlier install must not count as done.
        if (Directory.Exists(Path.Combine(work, "node_modules")))
        {
            Directory.Delete(Path.Combine(work, "node_modules"), recursive: true);
        }

        Console.WriteLine($"peer: npm install in {work} (first use; at most {InstallTimeout.TotalSeconds:0} s)");
        var (code, output) = await ChildProcess.RunAsync(npm, ["install", "--no-audit", "--no-fund", "--no-progress", "--omit=dev"], work, InstallTimeout)
            .ConfigureAwait(false);
        if (code != 0)
        {
            throw new InvalidOperationException($"npm install failed (exit {code}) in {work}:\n{output.Trim()}");
        }
    }

    private static void CopyIfChanged(string from, string to)
    {
        var bytes = File.ReadAllBytes(from);
        if (!File.Exists(to) || !File.ReadAllBytes(to).AsSpan().SequenceEqual(bytes))
        {
            // Written, not copied: the source is read-only, and a copy would keep that mode.
            File.WriteAllBytes(to, bytes);
        }
    }
}
