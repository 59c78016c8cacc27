namespace AstraPbx.LocalRun;

/// <summary>Where the repository and the build outputs are, found from the running binaries.</summary>
public static class RepoPaths
{
    /// <summary>The first folder above the running binaries that holds <c>AstraPbx.sln</c>.</summary>
    public static string Root { get; } = Find();

    private static string Find()
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
