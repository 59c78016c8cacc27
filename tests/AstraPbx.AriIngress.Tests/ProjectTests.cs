using Xunit;

namespace AstraPbx.AriIngress.Tests;

public sealed class ProjectTests
{
    [Fact]
    public void Test_project_builds() => Assert.True(true);
}
