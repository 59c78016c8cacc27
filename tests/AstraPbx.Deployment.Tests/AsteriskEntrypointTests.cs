namespace AstraPbx.Deployment.Tests;

/// <summary>Runs <c>asterisk/docker-entrypoint.sh</c> against a scratch copy of <c>/etc/asterisk</c>
/// (<c>ASTERISK_ETC</c>), with a harmless command in place of Asterisk.</summary>
public sealed class AsteriskEntrypointTests : IDisposable
{
    private readonly DirectoryInfo _etc = Directory.CreateTempSubdirectory("astrapbx-asterisk-etc-");

    public AsteriskEntrypointTests()
    {
        var templates = Directory.CreateDirectory(Path.Combine(_etc.FullName, "templates"));
        foreach (var template in Directory.GetFiles(Repo.PathOf("asterisk/templates")))
        {
            File.Copy(template, Path.Combine(templates.FullName, Path.GetFileName(template)));
        }
    }

    private string Marker => Path.Combine(_etc.FullName, "asterisk-started");

    private static Dictionary<string, string?> Secrets() => new()
    {
        ["ARI_USERNAME"] = "ari-user",
        ["ARI_PASSWORD"] = "s3cret$with&specials/\\",
        ["SIP_1001_PASSWORD"] = "phone-1001-pw",
        ["SIP_1002_PASSWORD"] = "phone-1002-pw",
    };

    [Fact]
    public async Task Renders_the_templates_with_the_secrets_and_starts_asterisk()
    {
        WriteGeneratedDialplan();
        var run = await RunAsync(Secrets());

        Assert.True(run.ExitCode == 0, run.Error);
        Assert.True(File.Exists(Marker), "the command after the entrypoint did not run");
        var ari = AsteriskConf.Parse(File.ReadAllText(Path.Combine(_etc.FullName, "ari.conf")));
        Assert.Contains(ari, l => l.Section == "ari-user" && l.Key == "password" && l.Value == Secrets()["ARI_PASSWORD"]);
        var pjsip = AsteriskConf.Parse(File.ReadAllText(Path.Combine(_etc.FullName, "pjsip.conf")));
        Assert.Contains(pjsip, l => l.Section == "1001" && l.Key == "password" && l.Value == "phone-1001-pw");
        Assert.Contains(pjsip, l => l.Section == "1002" && l.Key == "password" && l.Value == "phone-1002-pw");
        Assert.DoesNotContain("${", File.ReadAllText(Path.Combine(_etc.FullName, "pjsip.conf")), StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
        {
            // Rendered files hold passwords: readable by the Asterisk user only.
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_etc.FullName, "ari.conf")));
        }
    }

    [Fact]
    public async Task Leaves_other_dollar_references_for_asterisk()
    {
        WriteGeneratedDialplan();
        File.WriteAllText(Path.Combine(_etc.FullName, "templates", "extra.conf"), "[x]\nexten => s,1,NoOp(${CHANNEL} ${ARI_PASSWORD} ${HOME})\n");
        var run = await RunAsync(Secrets());

        Assert.True(run.ExitCode == 0, run.Error);
        var rendered = File.ReadAllText(Path.Combine(_etc.FullName, "extra.conf"));
        Assert.Contains("NoOp(${CHANNEL} " + Secrets()["ARI_PASSWORD"] + " ${HOME})", rendered, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ARI_PASSWORD")]
    [InlineData("SIP_1002_PASSWORD")]
    public async Task Refuses_to_start_when_a_secret_is_missing_and_names_it(string missing)
    {
        WriteGeneratedDialplan();
        var secrets = Secrets();
        secrets[missing] = null;
        var run = await RunAsync(secrets);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains($"environment variable {missing} is not set", run.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(Marker));
        Assert.False(File.Exists(Path.Combine(_etc.FullName, "ari.conf")), "rendered a template before checking every secret");
    }

    [Fact]
    public async Task Refuses_to_start_without_the_generated_dialplan_and_says_how_to_make_it()
    {
        var run = await RunAsync(Secrets());

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("generated/extensions.conf is missing", run.Error, StringComparison.Ordinal);
        Assert.Contains("dotnet AstraPbx.Routing.dll dialplan --out", run.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(Marker));
    }

    public void Dispose() => _etc.Delete(recursive: true);

    private void WriteGeneratedDialplan()
    {
        var generated = Directory.CreateDirectory(Path.Combine(_etc.FullName, "generated"));
        File.WriteAllText(Path.Combine(generated.FullName, "extensions.conf"), "[org1-internal]\n");
        File.WriteAllText(Path.Combine(generated.FullName, "queues.conf"), "");
    }

    private async Task<Tools.Result> RunAsync(Dictionary<string, string?> secrets)
    {
        await Tools.EnvsubstAsync();
        secrets["ASTERISK_ETC"] = _etc.FullName;
        return await Tools.RunAsync("/bin/sh", [Repo.PathOf("asterisk/docker-entrypoint.sh"), "touch", Marker], _etc.FullName, TimeSpan.FromMinutes(2), secrets);
    }
}
