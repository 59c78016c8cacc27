using System.Text.Json;
using AstraPbx.LocalRun;
using Xunit;

namespace AstraPbx.Foundation.Tests;

/// <summary>Each service, and the demo that hosts the Asterisk simulator, is built to compile a method once, optimised,
/// on its first run (tiered compilation off); the services' thread-pool workers block rather than spin for work
/// (Directory.Build.props).</summary>
public sealed class RuntimeTieringTests
{
    [Theory]
    [InlineData("AstraPbx.Routing")]
    [InlineData("AstraPbx.AriIngress")]
    [InlineData("AstraPbx.MediaRelay")]
    [InlineData("AstraPbx.Demo")]
    public void Built_runtime_config_compiles_each_method_once(string project) =>
        Assert.False(ConfigProperties(project).GetProperty("System.Runtime.TieredCompilation").GetBoolean());

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
