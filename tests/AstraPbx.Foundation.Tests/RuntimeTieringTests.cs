using System.Text.Json;
using AstraPbx.LocalRun;
using Xunit;

namespace AstraPbx.Foundation.Tests;

/// <summary>Each service (and the demo that hosts the Asterisk simulator) is built to reach optimised code during its
/// warm-up: call counting starts at once, and no instrumented tier runs on the first calls (Directory.Build.props).</summary>
public sealed class RuntimeTieringTests
{
    [Theory]
    [InlineData("AstraPbx.Routing")]
    [InlineData("AstraPbx.AriIngress")]
    [InlineData("AstraPbx.MediaRelay")]
    [InlineData("AstraPbx.Demo")]
    public void Built_runtime_config_counts_calls_at_once_without_the_instrumented_tier(string project)
    {
        var config = Path.ChangeExtension(ServiceProcess.AssemblyPath(project), ".runtimeconfig.json");
        using var document = JsonDocument.Parse(File.ReadAllText(config));
        var properties = document.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");

        Assert.Equal(0, properties.GetProperty("System.Runtime.TieredCompilation.CallCountingDelayMs").GetInt32());
        Assert.False(properties.GetProperty("System.Runtime.TieredPGO").GetBoolean());
    }
}
