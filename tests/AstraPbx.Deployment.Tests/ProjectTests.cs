using Xunit;

namespace AstraPbx.Deployment.Tests;

public sealed class ProjectTests
{
    [Fact]
    public void Test_project_builds() => Assert.True(true);
}
