using System.Text.RegularExpressions;

namespace AstraPbx.Deployment.Tests;

/// <summary>One <c>key = value</c> / <c>key => value</c> line of an Asterisk configuration file.</summary>
internal sealed record ConfLine(string Section, string Key, string Value, int Number);

/// <summary>Asterisk's configuration syntax, as much as the checks need: sections, <c>key = value</c> and
/// <c>key => value</c> lines, <c>;</c> comments, <c>#include</c>.</summary>
internal static partial class AsteriskConf
{
    public static IReadOnlyList<ConfLine> Parse(string text)
    {
        var lines = new List<ConfLine>();
        var section = "";
        var number = 0;
        foreach (var raw in text.Split('\n'))
        {
            number++;
            var line = StripComment(raw).Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var header = Section().Match(line);
            if (header.Success)
            {
                section = header.Groups[1].Value;
                continue;
            }

            var arrow = line.IndexOf("=>", StringComparison.Ordinal);
            var equals = line.IndexOf('=', StringComparison.Ordinal);
            var split = arrow >= 0 && arrow <= equals ? arrow : equals;
            if (split <= 0)
            {
                throw new FormatException($"line {number}: not a setting: {raw}");
            }

            var width = split == arrow ? 2 : 1;
            lines.Add(new ConfLine(section, line[..split].Trim(), line[(split + width)..].Trim(), number));
        }

        return lines;
    }

    // What Routing's `dialplan --out DIR` writes for the seed data; the Routing tests keep it equal to the generator's output.
    private const string GeneratedSample = "tests/AstraPbx.Routing.Tests/Golden";

    /// <summary>A file of <c>asterisk/</c> as Asterisk reads it: <c>#include generated/X</c> replaced by the generated sample.</summary>
    public static string WithGenerated(string file)
    {
        var lines = Repo.Read(Path.Combine("asterisk", file)).Split('\n').Select(line =>
            line.Trim().StartsWith("#include generated/", StringComparison.Ordinal)
                ? Repo.Read(Path.Combine(GeneratedSample, line.Trim()["#include generated/".Length..]))
                : line);
        return string.Join('\n', lines);
    }

    /// <summary>Section headers in file order, repeats included (templates' <c>[name](!)</c> count too).</summary>
    public static IReadOnlyList<string> Sections(string text) =>
        text.Split('\n').Select(l => Section().Match(StripComment(l).Trim())).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();

    public static IReadOnlyList<string> Includes(string text) =>
        text.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("#include", StringComparison.Ordinal))
            .Select(l => l["#include".Length..].Trim().Trim('"', '<', '>')).ToList();

    /// <summary>A ';' starts a comment unless escaped as '\;'.</summary>
    private static string StripComment(string line)
    {
        for (var i = 0; i < line.Length; i++)
        {
            if (line[i] == ';' && (i == 0 || line[i - 1] != '\\'))
            {
                return line[..i];
            }
        }

        return line;
    }

    [GeneratedRegex(@"^\[([^\]]+)\](\(.*\))?$")]
    private static partial Regex Section();
}

/// <summary>One dialplan step: <c>exten => s,1,App(args)</c> or <c>same => n(label),App(args)</c>.</summary>
internal sealed partial record DialplanStep(string Extension, string Priority, string? Label, string Application, string Arguments)
{
    public static IReadOnlyList<DialplanStep> OfContext(IReadOnlyList<ConfLine> lines, string context)
    {
        var steps = new List<DialplanStep>();
        var extension = "";
        foreach (var line in lines.Where(l => l.Section == context && l.Key is "exten" or "same"))
        {
            var parts = line.Value.Split(',', line.Key == "exten" ? 3 : 2);
            if (line.Key == "exten")
            {
                extension = parts[0];
                parts = parts[1..];
            }

            var priority = PriorityWithLabel().Match(parts[0]);
            var call = ApplicationCall().Match(parts[1]);
            Assert.True(priority.Success && call.Success, $"{context} line {line.Number} is not a dialplan step: {line.Value}");
            steps.Add(new DialplanStep(extension, priority.Groups[1].Value, priority.Groups[2].Success ? priority.Groups[2].Value : null,
                call.Groups[1].Value, call.Groups[2].Value));
        }

        return steps;
    }

    [GeneratedRegex(@"^(\w+)(?:\((\w+)\))?$")]
    private static partial Regex PriorityWithLabel();

    [GeneratedRegex(@"^(\w+)\((.*)\)$")]
    private static partial Regex ApplicationCall();
}
