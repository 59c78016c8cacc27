using System.Text.RegularExpressions;

namespace AstraPbx.Deployment.Tests;

/// <summary>Every <c>Section__Key</c> the deployment files set is a property of that section's options class in
/// the services' code: a misspelt or renamed key would otherwise be ignored silently and the default used.</summary>
public sealed partial class SettingsAlignmentTests
{
    [Fact]
    public void Every_section_setting_in_compose_kubernetes_and_the_dockerfiles_is_an_options_property()
    {
        var known = OptionsProperties();
        Assert.Contains("Relay__AudioSocketPort", known);
        Assert.Contains("Ari__Password", known);
        Assert.Contains("Routing__StartSessionTimeout", known);

        var used = new List<(string Where, string Key)>();
        foreach (var (name, service) in Compose.Services)
        {
            used.AddRange(Compose.Environment(service).Keys.Select(k => ($"compose {name}", k)));
            used.AddRange(EntrypointAssignment().Matches(string.Join(' ', service.List("entrypoint").Cast<string>()))
                .Select(m => ($"compose {name} entrypoint", m.Groups[1].Value)));
        }

        foreach (var map in Kubernetes.OfKind("ConfigMap"))
        {
            used.AddRange(map.Doc.Strings("data").Keys.Select(k => (map.ToString(), k)));
        }

        foreach (var (workload, container) in Kubernetes.Containers)
        {
            used.AddRange(container.List("env").Select(e => (workload.ToString(), e.Str("name")!)));
        }

        foreach (var (project, _) in Repo.Services.Select(r => ((string)r[0], (string)r[1])))
        {
            used.AddRange(DockerfileEnv().Matches(Repo.Read($"services/{project}/Dockerfile")).Select(m => ($"{project} Dockerfile", m.Groups[1].Value)));
        }

        var sectioned = used.Where(u => u.Key.Contains("__", StringComparison.Ordinal)
            && !u.Key.StartsWith("ConnectionStrings__", StringComparison.Ordinal)
            && !u.Key.StartsWith("Logging__", StringComparison.Ordinal)).ToList();
        Assert.True(sectioned.Count >= 15, $"only {sectioned.Count} settings found");
        foreach (var (where, key) in sectioned)
        {
            Assert.True(known.Contains(key), $"{where} sets {key}, which no options class in services/ has");
        }

        Assert.All(used.Where(u => u.Key.StartsWith("ConnectionStrings__", StringComparison.Ordinal)),
            u => Assert.Contains(u.Key, new[] { "ConnectionStrings__rabbitmq", "ConnectionStrings__postgres" }));
    }

    /// <summary><c>Section__Property</c> for every settable property of every class that names its section with a
    /// <c>const string Section</c> / <c>SectionName</c>.</summary>
    private static HashSet<string> OptionsProperties()
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(Repo.PathOf("services"), "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains("/obj/", StringComparison.Ordinal) || file.Contains("/bin/", StringComparison.Ordinal))
            {
                continue;
            }

            var text = File.ReadAllText(file);
            var section = SectionConstant().Match(text);
            if (!section.Success)
            {
                continue;
            }

            foreach (Match property in SettableProperty().Matches(text))
            {
                keys.Add(section.Groups[1].Value.Replace(":", "__", StringComparison.Ordinal) + "__" + property.Groups[1].Value);
            }
        }

        return keys;
    }

    [GeneratedRegex(@"const string (?:Section|SectionName) = ""([\w:]+)""")]
    private static partial Regex SectionConstant();

    [GeneratedRegex(@"public [\w<>?\[\], ]+ (\w+) \{ get; set; \}")]
    private static partial Regex SettableProperty();

    [GeneratedRegex(@"(\w+__\w+)=")]
    private static partial Regex EntrypointAssignment();

    [GeneratedRegex(@"(?m)^(?:ENV |    )(\w+__\w+)=")]
    private static partial Regex DockerfileEnv();
}
