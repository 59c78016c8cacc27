using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace AstraPbx.Deployment.Tests;

public sealed partial class DockerfileTests
{
    [Theory]
    [MemberData(nameof(Repo.Services), MemberType = typeof(Repo))]
    public void Each_image_publishes_its_own_project_and_runs_its_own_dll(string project, string service)
    {
        var dockerfile = Read(project);
        var stages = From().Matches(dockerfile).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["mcr.microsoft.com/dotnet/sdk:10.0", "mcr.microsoft.com/dotnet/aspnet:10.0"], stages);

        var publish = Assert.Single(Publish().Matches(dockerfile));
        Assert.Equal($"services/{project}/{project}.csproj", publish.Groups[1].Value);
        Assert.Contains("-o /app", publish.Value, StringComparison.Ordinal);
        Assert.Contains("COPY --from=build /app ./", dockerfile, StringComparison.Ordinal);
        Assert.Contains($"ENTRYPOINT [\"dotnet\", \"{project}.dll\"]", dockerfile, StringComparison.Ordinal);
        Assert.Contains($"-f services/{project}/Dockerfile -t astrapbx/{service} .", dockerfile, StringComparison.Ordinal);

        // The dll the image runs is the one the project builds.
        var csproj = XDocument.Load(Repo.PathOf($"services/{project}/{project}.csproj"));
        Assert.Null(csproj.Descendants("AssemblyName").FirstOrDefault());
    }

    [Theory]
    [MemberData(nameof(Repo.Services), MemberType = typeof(Repo))]
    public void Each_image_copies_every_project_its_service_references_and_the_root_props(string project, string service)
    {
        _ = service;
        var dockerfile = Read(project);
        var copied = CopySources(dockerfile);

        Assert.Contains("Directory.Build.props", copied);
        Assert.Contains("Directory.Packages.props", copied);
        foreach (var folder in ProjectClosure($"services/{project}/{project}.csproj"))
        {
            Assert.True(copied.Any(c => c.EndsWith('/') && (folder + "/").StartsWith(c, StringComparison.Ordinal)),
                $"{project}'s image does not copy {folder}, which the project references");
        }
    }

    [Theory]
    [MemberData(nameof(Repo.Services), MemberType = typeof(Repo))]
    public void Each_image_listens_on_all_interfaces_exposes_its_ports_and_runs_unprivileged(string project, string service)
    {
        var dockerfile = Read(project);
        Assert.Matches(@"(?m)^ENV Urls=http://0\.0\.0\.0:8080$", dockerfile);
        var exposed = Assert.Single(Regex.Matches(dockerfile, @"(?m)^EXPOSE (.+)$")).Groups[1].Value.Split(' ');
        string[] expected = service == "mediarelay" ? ["8080", "9092"] : ["8080"];
        Assert.Equal(expected, exposed);
        Assert.Matches(@"(?m)^USER \$APP_UID$", dockerfile);
        if (service == "mediarelay")
        {
            Assert.Contains("Relay__AudioSocketPort=9092", dockerfile, StringComparison.Ordinal);
            Assert.Contains("Relay__ListenAddress=0.0.0.0", dockerfile, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Dockerignore_keeps_secrets_and_build_outputs_out_of_the_build_context()
    {
        var patterns = Repo.Read(".dockerignore").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        foreach (var required in new[] { ".env", "**/bin/", "**/obj/", ".infra/", ".git/" })
        {
            Assert.Contains(required, patterns);
        }

        // Nothing a service image copies may be ignored.
        foreach (var (project, _) in Repo.Services.Select(r => ((string)r[0], (string)r[1])))
        {
            foreach (var source in CopySources(Read(project)))
            {
                Assert.DoesNotContain(patterns, p => p.TrimEnd('/') == source.TrimEnd('/').Split('/')[0]);
            }
        }
    }

    private static string Read(string project) => Repo.Read($"services/{project}/Dockerfile");

    /// <summary>The repository folders of a project and of every project it references, transitively.</summary>
    private static IReadOnlySet<string> ProjectClosure(string csproj)
    {
        var folders = new SortedSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([Path.GetFullPath(Repo.PathOf(csproj))]);
        while (pending.TryPop(out var path))
        {
            var folder = Path.GetRelativePath(Repo.Root, Path.GetDirectoryName(path)!).Replace('\\', '/');
            if (!folders.Add(folder))
            {
                continue;
            }

            foreach (var reference in XDocument.Load(path).Descendants("ProjectReference"))
            {
                pending.Push(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, reference.Attribute("Include")!.Value.Replace('\\', '/'))));
            }
        }

        return folders;
    }

    [GeneratedRegex(@"(?m)^FROM (\S+)")]
    private static partial Regex From();

    [GeneratedRegex(@"dotnet publish (\S+)[^\n]*")]
    private static partial Regex Publish();

    /// <summary>Sources of the COPY instructions that read the build context (not <c>--from=stage</c> copies).</summary>
    private static List<string> CopySources(string dockerfile) =>
        dockerfile.Split('\n')
            .Where(l => l.StartsWith("COPY ", StringComparison.Ordinal) && !l.Contains("--from=", StringComparison.Ordinal))
            .SelectMany(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..].Where(t => !t.StartsWith("--", StringComparison.Ordinal)).SkipLast(1))
            .ToList();
}
