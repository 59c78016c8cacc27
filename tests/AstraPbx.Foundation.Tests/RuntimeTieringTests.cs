using System.Text.Json;
using AstraPbx.LocalRun;
using Xunit;

namespace AstraPbx.Foundation.Tests;

/// <summary>Each service is built to compile a method once, optimised, on its first run (tiered compilation off), and
/// the demo that hosts the Asterisk simulator to reach optimised code early (call counting at once, no instrumented
/// tier); the services' thread-pool workers block rather than spin for work (Directory.Build.props).</summary>
public sealed class RuntimeTieringTests
{
    [Theory]
    [InlineData("AstraPbx.Routing")]
    [InlineData("AstraPbx.AriIngress")]
    [InlineData("AstraPbx.MediaRelay")]
    public void Built_runtime_config_compiles_each_method_once(string project) =>
        Assert.False(ConfigProperties(project).GetProperty("System.Runtime.TieredCompilation").GetBoolean());

    [Fact]
    public void Demo_runtime_config_counts_calls_at_once_without_the_instrumented_tier()
    {
        var properties = ConfigProperties("AstraPbx.Demo");

        Assert.Equal(0, properties.GetProperty("System.Runtime.TieredCompilation.CallCountingDelayMs").GetInt32());
        Assert.False(properties.GetProperty("System.Runtime.TieredPGO").GetBoolean());
    }

    [Theory]
    [InlineData("AstraPbx.Routing")]
    [InlineData("AstraPbx.AriIngress")]
    [InlineData("AstraPbx.MediaRelay")]
    public void Built_runtime_config_has_thread_pool_workers_block_instead_of_spinning(string project) =>
        Assert.Equal(0, ConfigProperties(project).GetProperty("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit").GetInt32());

    /// <summary>The <c>configProperties</c> of the project's built <c>runtimeconfig.json</c>.</summary>
    private static JsonElement ConfigProperties(string project)
    {
        var config = Path.ChangeExtension(ServiceProcess.AssemblyPath(project), ".runtimeconfig.json");
        using var document = JsonDocument.Parse(File.ReadAllText(config));
        return document.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties").Clone();
    }
}
