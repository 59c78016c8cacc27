namespace AstraPbx.Deployment.Tests;

/// <summary>One document of a manifest under <c>k8s/</c>.</summary>
internal sealed record Manifest(string File, object Doc)
{
    public string Kind => Doc.Str("kind") ?? "";
    public string Name => Doc.Str("metadata", "name") ?? "";
    public override string ToString() => $"{Kind}/{Name} ({File})";
}

/// <summary>The Kubernetes manifests, loaded once.</summary>
internal static class Kubernetes
{
    public const string Folder = "k8s";
    public const string Kustomization = "kustomization.yaml";

    private static readonly Lazy<IReadOnlyList<Manifest>> All = new(Load);

    /// <summary>Every YAML file of the folder except the kustomization itself.</summary>
    public static IReadOnlyList<string> ManifestFiles =>
        Directory.GetFiles(Repo.PathOf(Folder), "*.yaml")
            .Concat(Directory.GetFiles(Repo.PathOf(Folder), "*.yml"))
            .Select(Path.GetFileName)
            .Where(f => f != Kustomization)
            .Order(StringComparer.Ordinal)
            .ToList()!;

    /// <summary>Files that only show the shape of something the operator creates (Secrets with placeholders).</summary>
    public static bool IsExample(string file) => file.Contains(".example.", StringComparison.Ordinal);

    /// <summary>Documents that kustomize applies (examples excluded).</summary>
    public static IReadOnlyList<Manifest> Applied => All.Value.Where(m => !IsExample(m.File)).ToList();

    public static IReadOnlyList<Manifest> Examples => All.Value.Where(m => IsExample(m.File)).ToList();

    public static IEnumerable<Manifest> OfKind(string kind) => Applied.Where(m => m.Kind == kind);

    public static Manifest Get(string kind, string name) =>
        Applied.SingleOrDefault(m => m.Kind == kind && m.Name == name) ?? throw new Xunit.Sdk.XunitException($"no {kind}/{name} in k8s/");

    /// <summary>Deployments, DaemonSets and StatefulSets.</summary>
    public static IEnumerable<Manifest> Workloads =>
        Applied.Where(m => m.Kind is "Deployment" or "DaemonSet" or "StatefulSet");

    public static IEnumerable<(Manifest Workload, object Container)> Containers =>
        Workloads.SelectMany(w => w.Doc.List("spec", "template", "spec", "containers").Select(c => (w, c)));

    public static IReadOnlyDictionary<string, string> ConfigMapData(string name) => Get("ConfigMap", name).Doc.Strings("data");

    /// <summary>Every environment value a container gets from its ConfigMaps (envFrom) and literal env entries.</summary>
    public static IReadOnlyDictionary<string, string> PlainEnvironment(object container)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var source in container.List("envFrom"))
        {
            if (source.Str("configMapRef", "name") is { } configMap)
            {
                foreach (var (key, value) in ConfigMapData(configMap))
                {
                    values[key] = value;
                }
            }
        }

        foreach (var entry in container.List("env"))
        {
            if (entry.Str("value") is { } value)
            {
                values[entry.Str("name")!] = value;
            }
        }

        return values;
    }

    public static object Env(object container, string name) =>
        container.List("env").SingleOrDefault(e => e.Str("name") == name)
        ?? throw new Xunit.Sdk.XunitException($"container {container.Str("name")} has no env {name}");

    public static bool Selects(IReadOnlyDictionary<string, string> selector, IReadOnlyDictionary<string, string> labels) =>
        selector.Count > 0 && selector.All(kv => labels.TryGetValue(kv.Key, out var v) && v == kv.Value);

    public static IReadOnlyDictionary<string, string> PodLabels(Manifest workload) =>
        workload.Doc.Strings("spec", "template", "metadata", "labels");

    private static IReadOnlyList<Manifest> Load() =>
        ManifestFiles
            .SelectMany(file => Yaml.LoadAll(Repo.Read(Path.Combine(Folder, file))).Select(doc => new Manifest(file, doc)))
            .ToList();
}
