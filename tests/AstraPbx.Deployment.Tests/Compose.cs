namespace AstraPbx.Deployment.Tests;

/// <summary>docker-compose.yml as written (merge keys applied, <c>${...}</c> left as they are) and .env.example.</summary>
internal static class Compose
{
    public const string File = "docker-compose.yml";
    public const string EnvExample = ".env.example";

    private static readonly Lazy<object> Document = new(() => Yaml.Load(Repo.Read(File)));

    public static object Root => Document.Value;

    public static IReadOnlyDictionary<string, object> Services =>
        Root.Map("services").ToDictionary(kv => (string)kv.Key, kv => kv.Value, StringComparer.Ordinal);

    public static object Service(string name) =>
        Services.TryGetValue(name, out var service) ? service : throw new Xunit.Sdk.XunitException($"{File} has no service {name}");

    /// <summary>A service's environment, whether written as a mapping or as KEY=VALUE items.</summary>
    public static IReadOnlyDictionary<string, string> Environment(object service)
    {
        if (service.At("environment") is List<object> items)
        {
            return items.Cast<string>().Select(i => i.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "", StringComparer.Ordinal);
        }

        return service.Strings("environment");
    }

    /// <summary>The variables .env.example defines.</summary>
    public static IReadOnlyDictionary<string, string> ExampleVariables() =>
        Repo.Read(EnvExample).Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('=', 2))
            .ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "", StringComparer.Ordinal);

    /// <summary>The compose services built from <c>services/AstraPbx.X/Dockerfile</c>, by project name.</summary>
    public static IReadOnlyDictionary<string, string> DotnetServices =>
        Services.Where(s => s.Value.Str("build", "dockerfile") is { } d && d.StartsWith("services/", StringComparison.Ordinal))
            .ToDictionary(s => s.Value.Str("build", "dockerfile")!.Split('/')[1], s => s.Key, StringComparer.Ordinal);
}
