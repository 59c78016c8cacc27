using System.Text.RegularExpressions;

namespace AstraPbx.Deployment.Tests;

public sealed partial class ComposeFileTests
{
    [Fact]
    public async Task Docker_compose_accepts_the_file_with_the_example_env_and_refuses_it_without_env()
    {
        var compose = await Tools.DockerComposeAsync();
        var dir = Directory.CreateTempSubdirectory("astrapbx-compose-");
        try
        {
            // What a user has after `cp .env.example .env`: the compose file, its .env, and the build contexts.
            File.Copy(Repo.PathOf(Compose.File), Path.Combine(dir.FullName, Compose.File));
            foreach (var context in new[] { "asterisk", "services", "contracts" })
            {
                Directory.CreateSymbolicLink(Path.Combine(dir.FullName, context), Repo.PathOf(context));
            }

            var withoutEnv = await Tools.RunAsync(compose, ["config", "--quiet"], dir.FullName, TimeSpan.FromMinutes(3));
            Assert.NotEqual(0, withoutEnv.ExitCode);
            Assert.Contains(".env", withoutEnv.Error, StringComparison.Ordinal);

            File.Copy(Repo.PathOf(Compose.EnvExample), Path.Combine(dir.FullName, ".env"));
            var config = await Tools.RunAsync(compose, ["config"], dir.FullName, TimeSpan.FromMinutes(3));
            Assert.True(config.ExitCode == 0, $"docker-compose config failed: {config.Error}");

            // The resolved file carries the example's secrets into exactly the places that need them.
            var resolved = Yaml.Load(config.Output);
            var env = Compose.ExampleVariables();
            Assert.Equal($"amqp://{env["RABBITMQ_DEFAULT_USER"]}:{env["RABBITMQ_DEFAULT_PASS"]}@rabbitmq:5672/",
                resolved.Str("services", "routing", "environment", "ConnectionStrings__rabbitmq"));
            Assert.Contains($"Password={env["POSTGRES_PASSWORD"]};", resolved.Str("services", "routing", "environment", "ConnectionStrings__postgres"), StringComparison.Ordinal);
            Assert.Equal(env["ARI_PASSWORD"], resolved.Str("services", "asterisk", "environment", "ARI_PASSWORD"));
            Assert.Equal(env["ARI_PASSWORD"], resolved.Str("services", "ariingress", "environment", "Ari__Password"));
            Assert.Null(resolved.At("services", "rabbitmq", "environment", "POSTGRES_PASSWORD"));
            Assert.Null(resolved.At("services", "mediarelay", "environment", "Ari__Password"));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [MemberData(nameof(Repo.Services), MemberType = typeof(Repo))]
    public void Each_service_is_built_from_its_dockerfile_and_checks_health_with_its_own_verb(string project, string service)
    {
        var s = Compose.Service(service);
        Assert.Equal(".", s.Str("build", "context"));
        Assert.Equal($"services/{project}/Dockerfile", s.Str("build", "dockerfile"));
        Assert.Equal(["CMD", "dotnet", $"{project}.dll", "health"], s.List("healthcheck", "test").Cast<string>());

        var env = Compose.Environment(s);
        Assert.Equal($"http://0.0.0.0:{Repo.GrpcPort}", env["Urls"]);
        Assert.Equal("http://jaeger:4317", env["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        Assert.StartsWith("amqp://", env["ConnectionStrings__rabbitmq"], StringComparison.Ordinal);
        Assert.EndsWith("@rabbitmq:5672/", env["ConnectionStrings__rabbitmq"], StringComparison.Ordinal);
    }

    [Fact]
    public void Every_dependency_waits_for_health_or_for_a_one_shot_to_finish()
    {
        var services = Compose.Services;
        var dependencies = 0;
        foreach (var (name, service) in services)
        {
            foreach (var (target, spec) in service.Map("depends_on"))
            {
                dependencies++;
                Assert.True(services.TryGetValue((string)target, out var dependency), $"{name} depends on unknown {target}");
                var condition = spec.Str("condition");
                var expected = dependency.At("healthcheck") is not null ? "service_healthy"
                    : dependency.Str("restart") == "no" ? "service_completed_successfully"
                    : "service_started";
                Assert.True(condition == expected, $"{name} -> {target}: condition {condition ?? "(none)"}, expected {expected}");
            }
        }

        Assert.True(dependencies >= 10);
        // Nothing long-running is left without a health check except Jaeger (its image has no shell or client).
        foreach (var (name, service) in services.Where(s => s.Value.Str("restart") != "no" && s.Key != "jaeger"))
        {
            Assert.True(service.At("healthcheck", "test") is not null, $"{name} has no health check");
        }
    }

    [Fact]
    public void No_secret_is_written_in_the_compose_file_and_every_variable_is_in_the_example_env()
    {
        var text = Repo.Read(Compose.File);
        var example = Compose.ExampleVariables();
        foreach (var value in example.Where(kv => kv.Key.Contains("PASS", StringComparison.Ordinal)).Select(kv => kv.Value))
        {
            Assert.DoesNotContain(value, text, StringComparison.Ordinal);
        }

        var checkedValues = 0;
        foreach (var (name, service) in Compose.Services)
        {
            foreach (var (key, value) in Compose.Environment(service))
            {
                var secretKey = key.Contains("PASS", StringComparison.OrdinalIgnoreCase) || key.Contains("GATEWAY_URL", StringComparison.Ordinal)
                    || key.StartsWith("ConnectionStrings__", StringComparison.Ordinal);
                if (!secretKey)
                {
                    Assert.False(Credential().IsMatch(value), $"{name}: {key} holds a credential");
                    continue;
                }

                checkedValues++;
                // Each password (and user) is a required ${VAR:?...} reference to .env; nothing literal between.
                var masked = RequiredVariable().Replace(value, "<var>");
                Assert.DoesNotContain("${", masked, StringComparison.Ordinal);
                if (key.StartsWith("ConnectionStrings__", StringComparison.Ordinal))
                {
                    Assert.True(masked.Contains("Password=<var>;", StringComparison.Ordinal) || masked.Contains(":<var>@", StringComparison.Ordinal),
                        $"{name}: {key} does not take its password from .env");
                }
                else
                {
                    Assert.Equal("<var>", masked);
                }
            }
        }

        Assert.True(checkedValues >= 10, $"only {checkedValues} secret settings found");
        foreach (Match reference in AnyVariable().Matches(text))
        {
            Assert.True(example.ContainsKey(reference.Groups[1].Value), $"{reference.Value} is not defined in {Compose.EnvExample}");
        }

        foreach (var (key, value) in example.Where(kv => kv.Key.Contains("PASS", StringComparison.Ordinal)))
        {
            Assert.StartsWith("change-me", value, StringComparison.Ordinal);
        }

        Assert.EndsWith("?key=change-me-gateway-key", example["AI_GATEWAY_URL"], StringComparison.Ordinal);

        Assert.DoesNotContain(Compose.Services, s => s.Value.At("env_file") is not null); // one .env, values handed out one by one
    }

    [Fact]
    public void Relay_audiosocket_port_is_reachable_by_asterisk_on_the_compose_network_only()
    {
        var relay = Compose.Service("mediarelay");
        var asterisk = Compose.Service("asterisk");
        var env = Compose.Environment(relay);

        Assert.Equal(Repo.AudioSocketPort.ToString(System.Globalization.CultureInfo.InvariantCulture), env["Relay__AudioSocketPort"]);
        Assert.Equal("0.0.0.0", env["Relay__ListenAddress"]);
        Assert.Contains(env["Relay__AudioSocketPort"], relay.List("expose").Cast<string>());
        Assert.DoesNotContain(relay.List("ports").Cast<string>(), p => p.Contains(env["Relay__AudioSocketPort"], StringComparison.Ordinal));
        Assert.NotEmpty(relay.List("networks").Cast<string>().Intersect(asterisk.List("networks").Cast<string>()));

        // Each replica advertises its own address (not the service name) so that scaled relays get their own calls.
        var entrypoint = string.Join(' ', relay.List("entrypoint").Cast<string>());
        Assert.Contains("Relay__AdvertisedEndpoint=\"$$(hostname -i | cut -d' ' -f1):$${Relay__AudioSocketPort}\"", entrypoint, StringComparison.Ordinal);
        Assert.Contains("exec dotnet AstraPbx.MediaRelay.dll", entrypoint, StringComparison.Ordinal);

        // SIGTERM drains; compose must wait for the drain and the relay's ~50 s to end the rest before it kills.
        var drain = TimeSpan.Parse(env["Relay__DrainTimeout"], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(drain + TimeSpan.FromSeconds(60) <= ParseDuration(relay.Str("stop_grace_period")!), "stop_grace_period leaves the drain no time");
    }

    [Fact]
    public void Routing_seed_writes_the_dialplan_into_the_volume_asterisk_includes_it_from()
    {
        var seed = Compose.Service("routing-seed");
        var asterisk = Compose.Service("asterisk");
        Assert.Equal("no", seed.Str("restart"));
        Assert.Equal(Compose.Service("routing").Str("image"), seed.Str("image"));

        var command = string.Join(' ', seed.List("entrypoint").Cast<string>());
        Assert.Contains("dotnet AstraPbx.Routing.dll seed --gateway-url \"$$AI_GATEWAY_URL\"", command, StringComparison.Ordinal);
        Assert.Equal("${AI_GATEWAY_URL:?set it in .env (copy .env.example)}", Compose.Environment(seed)["AI_GATEWAY_URL"]);
        var output = OutFolder().Match(command);
        Assert.True(output.Success, "routing-seed does not run `dialplan --out <folder>`");

        var seedVolume = seed.List("volumes").Cast<string>().Select(v => v.Split(':')).Single(v => v[1] == output.Groups[1].Value);

        // A fresh named volume takes the owner of the image folder it is mounted on: the non-root user must own it.
        Assert.Contains($"RUN mkdir {output.Groups[1].Value} && chown \"$APP_UID:$APP_UID\" {output.Groups[1].Value}",
            Repo.Read("services/AstraPbx.Routing/Dockerfile"), StringComparison.Ordinal);
        var asteriskVolume = asterisk.List("volumes").Cast<string>().Select(v => v.Split(':')).Single(v => v[0] == seedVolume[0]);
        Assert.Equal("/etc/asterisk/generated", asteriskVolume[1]);
        Assert.True(Compose.Root.Map("volumes").ContainsKey(seedVolume[0]));

        // Asterisk's files include what lands in that folder (paths relative to /etc/asterisk).
        Assert.Contains("#include generated/extensions.conf", Repo.Read("asterisk/extensions.conf"), StringComparison.Ordinal);
        Assert.Contains("#include generated/queues.conf", Repo.Read("asterisk/queues.conf"), StringComparison.Ordinal);
    }

    [Fact]
    public void Ingress_reaches_asterisk_ari_on_its_http_port_with_the_dialplan_stasis_application()
    {
        var env = Compose.Environment(Compose.Service("ariingress"));
        var ari = new Uri(env["Ari__BaseUrl"]);
        Assert.Equal("asterisk", ari.Host);
        Assert.Contains($"bindport = {ari.Port}", Repo.Read("asterisk/http.conf"), StringComparison.Ordinal);
        Assert.Contains($"Stasis({env["Ari__Application"]},ai_failed,", AsteriskConf.WithGenerated("extensions.conf"), StringComparison.Ordinal);
        Assert.Contains($"Stasis({env["Ari__Application"]},ai_agent,", AsteriskConf.WithGenerated("extensions.conf"), StringComparison.Ordinal);
        Assert.DoesNotContain(Compose.Service("asterisk").List("ports").Cast<string>(), p => p.Contains(ari.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
    }

    [Fact]
    public void Jaeger_receives_otlp_and_shows_its_ui()
    {
        var jaeger = Compose.Service("jaeger");
        Assert.StartsWith("jaegertracing/all-in-one:", jaeger.Str("image"), StringComparison.Ordinal);
        Assert.Equal("true", Compose.Environment(jaeger)["COLLECTOR_OTLP_ENABLED"]);
        var ports = jaeger.List("ports").Cast<string>().ToList();
        Assert.Contains("16686:16686", ports);
        Assert.Contains("4317:4317", ports);
        Assert.StartsWith("rabbitmq:3", Compose.Service("rabbitmq").Str("image"), StringComparison.Ordinal);
        Assert.EndsWith("-management", Compose.Service("rabbitmq").Str("image"), StringComparison.Ordinal);
        Assert.Equal("postgres:15", Compose.Service("postgres").Str("image"));
    }

    private static TimeSpan ParseDuration(string value) =>
        value.EndsWith('m') ? TimeSpan.FromMinutes(double.Parse(value[..^1], System.Globalization.CultureInfo.InvariantCulture))
        : value.EndsWith('s') ? TimeSpan.FromSeconds(double.Parse(value[..^1], System.Globalization.CultureInfo.InvariantCulture))
        : throw new FormatException("unsupported duration " + value);

    [GeneratedRegex(@"\$\{[A-Z0-9_]+:\?[^}]*\}")]
    private static partial Regex RequiredVariable();

    // $${...} is an escaped dollar for the container's shell, not a compose variable.
    [GeneratedRegex(@"(?<!\$)\$\{([A-Za-z0-9_]+)")]
    private static partial Regex AnyVariable();

    // A connection string's password, user:password@ in a URL, a gateway's ?key=.
    [GeneratedRegex(@"(?i)password\s*=|://[^/\s:@]+:[^/\s@]+@|[?&]key=")]
    private static partial Regex Credential();

    [GeneratedRegex(@"dialplan --out (/\S+)")]
    private static partial Regex OutFolder();
}
