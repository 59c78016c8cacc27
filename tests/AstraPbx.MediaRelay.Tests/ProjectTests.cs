using Xunit;

namespace AstraPbx.MediaRelay.Tests;

public sealed class ProjectTests
{
    [Fact]
    public void Test_project_builds() => Assert.True(true);
}
