namespace AstraPbx.Deployment.Tests;

/// <summary>The repository's deployment files.</summary>
internal static class Repo
{
    /// <summary>The first folder above the test binaries that holds <c>AstraPbx.sln</c>.</summary>
    public static string Root { get; } = FindRoot();

    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static string PathOf(string relative) => Path.Combine(Root, relative);

    public static string Read(string relative)
    {
        var path = PathOf(relative);
        Assert.True(File.Exists(path), $"{relative} is missing");
        return File.ReadAllText(path);
    }

    /// <summary>The three deployable services: folder/project name and the image's service name in compose.</summary>
    public static readonly TheoryData<string, string> Services = new()
    {
        { "AstraPbx.AriIngress", "ariingress" },
        { "AstraPbx.Routing", "routing" },
        { "AstraPbx.MediaRelay", "mediarelay" },
    };

    /// <summary>The container port of every service's Kestrel (gRPC health, relay admin).</summary>
    public const int GrpcPort = 8080;

    /// <summary>The relay's AudioSocket port in the container.</summary>
    public const int AudioSocketPort = 9092;

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AstraPbx.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("AstraPbx.sln not found above " + AppContext.BaseDirectory);
    }
}
