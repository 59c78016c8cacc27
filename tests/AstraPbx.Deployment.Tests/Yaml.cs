using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace AstraPbx.Deployment.Tests;

/// <summary>YAML as plain object graphs (mappings, sequences, string scalars) with merge keys (<c>&lt;&lt;: *anchor</c>)
/// applied, the way docker-compose and kubectl read them.</summary>
internal static class Yaml
{
    private static readonly IDeserializer Deserializer = new DeserializerBuilder().Build();

    /// <summary>Every document of a (multi-document) YAML text; empty documents are left out.</summary>
    public static IReadOnlyList<object> LoadAll(string text)
    {
        var documents = new List<object>();
        var parser = new MergingParser(new Parser(new StringReader(text)));
        parser.Consume<StreamStart>();
        while (parser.Accept<DocumentStart>(out _))
        {
            if (Deserializer.Deserialize<object?>(parser) is { } document)
            {
                documents.Add(document);
            }
        }

        return documents;
    }

    public static object Load(string text) => Assert.Single(LoadAll(text));

    /// <summary>The node at a path of mapping keys, or null when any step is missing.</summary>
    public static object? At(this object? node, params string[] path)
    {
        foreach (var key in path)
        {
            node = node is IDictionary<object, object> map && map.TryGetValue(key, out var value) ? value : null;
        }

        return node;
    }

    public static string? Str(this object? node, params string[] path) => node.At(path) as string;

    public static IReadOnlyList<object> List(this object? node, params string[] path) =>
        node.At(path) as List<object> ?? [];

    public static IDictionary<object, object> Map(this object? node, params string[] path) =>
        node.At(path) as IDictionary<object, object> ?? new Dictionary<object, object>();

    /// <summary>A mapping of scalars as string pairs (labels, selectors, environment maps).</summary>
    public static IReadOnlyDictionary<string, string> Strings(this object? node, params string[] path) =>
        node.Map(path).ToDictionary(kv => (string)kv.Key, kv => kv.Value as string ?? "", StringComparer.Ordinal);
}
