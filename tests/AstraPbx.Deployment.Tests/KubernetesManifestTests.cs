using System.Globalization;
using System.Text.RegularExpressions;

namespace AstraPbx.Deployment.Tests;

public sealed partial class KubernetesManifestTests
{
    private const string RelayName = "mediarelay";

    [Fact]
    public void Every_manifest_names_its_kind_and_lives_in_the_astrapbx_namespace()
    {
        Assert.NotEmpty(Kubernetes.Applied);
        foreach (var m in Kubernetes.Applied)
        {
            Assert.False(string.IsNullOrEmpty(m.Doc.Str("apiVersion")), $"{m} has no apiVersion");
            Assert.False(string.IsNullOrEmpty(m.Kind), $"a document in {m.File} has no kind");
            Assert.False(string.IsNullOrEmpty(m.Name), $"{m} has no metadata.name");
            if (m.Kind != "Namespace")
            {
                Assert.True(m.Doc.Str("metadata", "namespace") == "astrapbx", $"{m} is not in namespace astrapbx");
            }
        }

        Assert.Equal("astrapbx", Kubernetes.Get("Namespace", "astrapbx").Name);
    }

    [Fact]
    public void Kustomization_lists_every_manifest_and_never_the_secret_example()
    {
        var kustomization = Yaml.Load(Repo.Read(Path.Combine(Kubernetes.Folder, Kubernetes.Kustomization)));
        var listed = kustomization.List("resources").Cast<string>().ToList();

        Assert.Equal("astrapbx", kustomization.Str("namespace"));
        Assert.Equal(listed.Distinct().Count(), listed.Count);
        foreach (var file in listed)
        {
            Assert.True(File.Exists(Repo.PathOf(Path.Combine(Kubernetes.Folder, file))), $"kustomization lists {file}, which does not exist");
        }

        var expected = Kubernetes.ManifestFiles.Where(f => !Kubernetes.IsExample(f)).ToList();
        Assert.Equal(expected, listed.Order(StringComparer.Ordinal).ToList());
        Assert.DoesNotContain(listed, Kubernetes.IsExample);
        Assert.Contains(Kubernetes.ManifestFiles, f => f == "secret.example.yaml");
    }

    [Fact]
    public void Workload_selectors_match_their_pod_template_labels()
    {
        Assert.Equal(["ariingress", "mediarelay", "routing"], Kubernetes.Workloads.Select(w => w.Name).Order(StringComparer.Ordinal));
        foreach (var w in Kubernetes.Workloads)
        {
            var selector = w.Doc.Strings("spec", "selector", "matchLabels");
            Assert.True(Kubernetes.Selects(selector, Kubernetes.PodLabels(w)), $"{w}: selector does not match the pod template labels");
            Assert.True(selector.GetValueOrDefault("app.kubernetes.io/name") == w.Name, $"{w}: select on app.kubernetes.io/name={w.Name}");
        }
    }

    [Fact]
    public void Services_select_a_workload_and_target_its_named_container_ports()
    {
        Assert.Equal(3, Kubernetes.OfKind("Service").Count());
        foreach (var service in Kubernetes.OfKind("Service"))
        {
            var selector = service.Doc.Strings("spec", "selector");
            var workload = Assert.Single(Kubernetes.Workloads, w => Kubernetes.Selects(selector, Kubernetes.PodLabels(w)));
            var containerPorts = workload.Doc.List("spec", "template", "spec", "containers")
                .SelectMany(c => c.List("ports"))
                .ToDictionary(p => p.Str("name")!, p => p.Str("containerPort")!);
            foreach (var port in service.Doc.List("spec", "ports"))
            {
                var target = port.Str("targetPort")!;
                Assert.True(containerPorts.ContainsKey(target) || containerPorts.ContainsValue(target),
                    $"{service}: targetPort {target} is not a port of {workload}");
                Assert.Equal(containerPorts.GetValueOrDefault(target, target), port.Str("port"));
            }
        }
    }

    [Fact]
    public void Every_container_requests_cpu_and_memory_and_limits_memory()
    {
        Assert.NotEmpty(Kubernetes.Containers);
        foreach (var (w, c) in Kubernetes.Containers)
        {
            Assert.False(string.IsNullOrEmpty(c.Str("resources", "requests", "cpu")), $"{w}: no cpu request");
            Assert.False(string.IsNullOrEmpty(c.Str("resources", "requests", "memory")), $"{w}: no memory request");
            Assert.False(string.IsNullOrEmpty(c.Str("resources", "limits", "memory")), $"{w}: no memory limit");
            Assert.True(c.Str("securityContext", "allowPrivilegeEscalation") == "false", $"{w}: privilege escalation allowed");
            Assert.True(w.Doc.Str("spec", "template", "spec", "securityContext", "runAsNonRoot") == "true", $"{w}: may run as root");
        }
    }

    [Fact]
    public void Readiness_and_startup_probes_are_native_grpc_on_the_port_kestrel_listens_on()
    {
        var urls = Kubernetes.ConfigMapData("astrapbx-common")["Urls"];
        Assert.Equal(Repo.GrpcPort, new Uri(urls.Replace("0.0.0.0", "localhost", StringComparison.Ordinal)).Port);

        foreach (var (w, c) in Kubernetes.Containers)
        {
            Assert.Equal(urls, Kubernetes.PlainEnvironment(c)["Urls"]);
            var grpcPort = Assert.Single(c.List("ports"), p => p.Str("name") == "grpc");
            Assert.Equal(Repo.GrpcPort.ToString(CultureInfo.InvariantCulture), grpcPort.Str("containerPort"));
            foreach (var probe in new[] { "readinessProbe", "startupProbe" })
            {
                Assert.True(c.Str(probe, "grpc", "port") == grpcPort.Str("containerPort"), $"{w}: {probe} is not a gRPC probe on port {Repo.GrpcPort}");
            }

            Assert.NotNull(c.At("livenessProbe"));
        }
    }

    [Fact]
    public void Relay_liveness_does_not_read_the_health_status_that_draining_turns_off()
    {
        // Draining reports NOT_SERVING on purpose (readiness); a gRPC liveness probe would kill the draining relay
        // and every live call on it.
        var relay = Assert.Single(Kubernetes.Containers, x => x.Workload.Name == RelayName).Container;
        Assert.Null(relay.At("livenessProbe", "grpc"));
        Assert.Equal(Repo.GrpcPort.ToString(CultureInfo.InvariantCulture), relay.Str("livenessProbe", "tcpSocket", "port"));

        foreach (var (w, c) in Kubernetes.Containers.Where(x => x.Workload.Name != RelayName))
        {
            Assert.True(c.Str("livenessProbe", "grpc", "port") == "8080", $"{w}: liveness is not a gRPC probe on 8080");
        }
    }

    [Fact]
    public void Relay_drains_with_a_preStop_hook_and_a_grace_period_longer_than_its_drain_timeout()
    {
        var relay = Kubernetes.Get("Deployment", RelayName);
        var container = Assert.Single(relay.Doc.List("spec", "template", "spec", "containers"));
        var grace = int.Parse(relay.Doc.Str("spec", "template", "spec", "terminationGracePeriodSeconds")!, CultureInfo.InvariantCulture);
        var drain = TimeSpan.Parse(Kubernetes.PlainEnvironment(container)["Relay__DrainTimeout"], CultureInfo.InvariantCulture);

        Assert.True(grace >= 3600, $"grace period {grace} s is shorter than a long call");
        // After the drain timeout the relay takes up to ~50 s to end the remaining calls and stop; preStop runs first.
        var preStop = TimeSpan.FromSeconds(double.Parse(container.List("lifecycle", "preStop", "exec", "command").Cast<string>().Last(), CultureInfo.InvariantCulture));
        Assert.True(preStop + drain + TimeSpan.FromSeconds(60) <= TimeSpan.FromSeconds(grace), $"Relay__DrainTimeout {drain} leaves no time to end calls cleanly before the kill at {grace} s");
        Assert.True(drain <= TimeSpan.FromHours(1), "Relay:DrainTimeout accepts at most 1 h");
        Assert.True(drain > TimeSpan.FromMinutes(30), $"Relay__DrainTimeout {drain} would cut live calls short");
        Assert.NotEmpty(container.List("lifecycle", "preStop", "exec", "command"));
        Assert.Equal("0", relay.Doc.Str("spec", "strategy", "rollingUpdate", "maxUnavailable"));
    }

    [Fact]
    public void Relay_pod_disruption_budget_selects_the_relay_pods_and_only_them()
    {
        var pdb = Kubernetes.Get("PodDisruptionBudget", RelayName);
        var selector = pdb.Doc.Strings("spec", "selector", "matchLabels");
        var selected = Kubernetes.Workloads.Where(w => Kubernetes.Selects(selector, Kubernetes.PodLabels(w))).Select(w => w.Name);

        Assert.Equal([RelayName], selected);
        Assert.True(pdb.Doc.Str("spec", "maxUnavailable") == "1" || pdb.Doc.Str("spec", "minAvailable") is not null);
        foreach (var other in Kubernetes.OfKind("PodDisruptionBudget"))
        {
            var s = other.Doc.Strings("spec", "selector", "matchLabels");
            Assert.Single(Kubernetes.Workloads, w => Kubernetes.Selects(s, Kubernetes.PodLabels(w)));
        }
    }

    [Fact]
    public void Relay_advertises_its_pod_address_and_listens_on_the_configured_audiosocket_port()
    {
        var container = Assert.Single(Kubernetes.Containers, x => x.Workload.Name == RelayName).Container;
        var settings = Kubernetes.PlainEnvironment(container);
        var env = container.List("env").Select(e => e.Str("name")).ToList();

        // $(VAR) expands only variables defined before it (envFrom first, then env in order).
        Assert.Equal("status.podIP", Kubernetes.Env(container, "POD_IP").Str("valueFrom", "fieldRef", "fieldPath"));
        Assert.Equal("$(POD_IP):$(Relay__AudioSocketPort)", Kubernetes.Env(container, "Relay__AdvertisedEndpoint").Str("value"));
        Assert.True(env.IndexOf("POD_IP") < env.IndexOf("Relay__AdvertisedEndpoint"));
        Assert.DoesNotContain("Relay__AudioSocketPort", env);
        Assert.Equal(Repo.AudioSocketPort.ToString(CultureInfo.InvariantCulture), settings["Relay__AudioSocketPort"]);
        Assert.Equal("0.0.0.0", settings["Relay__ListenAddress"]);
        var port = Assert.Single(container.List("ports"), p => p.Str("name") == "audiosocket");
        Assert.Equal(settings["Relay__AudioSocketPort"], port.Str("containerPort"));
        Assert.Equal("TCP", port.Str("protocol"));
    }

    [Fact]
    public void Relay_network_policy_admits_audiosocket_only_from_asterisk()
    {
        var policy = Kubernetes.Get("NetworkPolicy", RelayName);
        var relay = Kubernetes.Get("Deployment", RelayName);
        Assert.True(Kubernetes.Selects(policy.Doc.Strings("spec", "podSelector", "matchLabels"), Kubernetes.PodLabels(relay)));
        Assert.Contains("Ingress", policy.Doc.List("spec", "policyTypes").Cast<string>());

        var audioRules = policy.Doc.List("spec", "ingress")
            .Where(rule => rule.List("ports").Any(p => p.Str("port") == "9092"))
            .ToList();
        Assert.NotEmpty(audioRules);
        foreach (var rule in audioRules)
        {
            var sources = rule.List("from");
            Assert.NotEmpty(sources); // an empty "from" would admit everyone
            foreach (var source in sources)
            {
                var fromAsterisk = source.Str("ipBlock", "cidr") is not null
                    || source.Str("podSelector", "matchLabels", "app.kubernetes.io/name") == "asterisk";
                Assert.True(fromAsterisk, "port 9092 is open to something other than Asterisk");
            }
        }
    }

    [Fact]
    public void Relay_scales_on_its_own_spread_over_nodes()
    {
        var hpa = Kubernetes.Get("HorizontalPodAutoscaler", RelayName);
        Assert.Equal("Deployment", hpa.Doc.Str("spec", "scaleTargetRef", "kind"));
        Assert.Equal(RelayName, hpa.Doc.Str("spec", "scaleTargetRef", "name"));
        var min = int.Parse(hpa.Doc.Str("spec", "minReplicas")!, CultureInfo.InvariantCulture);
        var max = int.Parse(hpa.Doc.Str("spec", "maxReplicas")!, CultureInfo.InvariantCulture);
        Assert.InRange(min, 2, max);
        // Scaled on the relay's own headroom gauge (astrapbx.relay.capacity.load), not a session count.
        Assert.Contains(hpa.Doc.List("spec", "metrics"), m => m.Str("type") == "Pods" && m.Str("pods", "metric", "name") == "astrapbx_relay_capacity_load");
        Assert.Contains("astrapbx.relay.capacity.load", Repo.Read("services/AstraPbx.MediaRelay/Capacity/CapacityMonitor.cs"), StringComparison.Ordinal);
        var capacityEnv = Kubernetes.Containers.Single(c => c.Workload == Kubernetes.Get("Deployment", RelayName)).Container
            .List("env").Single(e => e.Str("name") == "Relay__Capacity__CpuMillicores");
        Assert.Equal("requests.cpu", capacityEnv.Str("valueFrom", "resourceFieldRef", "resource"));
        Assert.Single(Kubernetes.OfKind("HorizontalPodAutoscaler"));

        var relay = Kubernetes.Get("Deployment", RelayName);
        var terms = relay.Doc.List("spec", "template", "spec", "affinity", "podAntiAffinity", "preferredDuringSchedulingIgnoredDuringExecution");
        Assert.Contains(terms, t => t.Str("podAffinityTerm", "topologyKey") == "kubernetes.io/hostname"
            && Kubernetes.Selects(t.Strings("podAffinityTerm", "labelSelector", "matchLabels"), Kubernetes.PodLabels(relay)));
    }

    [Fact]
    public void Secrets_reach_containers_only_through_secretKeyRef_to_secrets_the_example_documents()
    {
        var documented = Kubernetes.Examples.Where(m => m.Kind == "Secret")
            .SelectMany(m => m.Doc.Map("stringData").Keys.Cast<string>().Select(k => (m.Name, k)))
            .ToHashSet();
        Assert.Empty(Kubernetes.OfKind("Secret"));

        var seen = 0;
        foreach (var (w, c) in Kubernetes.Containers)
        {
            Assert.DoesNotContain(c.List("envFrom"), e => e.At("secretRef") is not null);
            foreach (var entry in c.List("env"))
            {
                var name = entry.Str("name")!;
                if (!LooksSecret(name))
                {
                    continue;
                }

                seen++;
                Assert.True(entry.At("value") is null, $"{w}: {name} has a literal value");
                var secret = entry.Str("valueFrom", "secretKeyRef", "name");
                var key = entry.Str("valueFrom", "secretKeyRef", "key");
                Assert.True(secret is not null && key is not null, $"{w}: {name} does not come from a secretKeyRef");
                Assert.True(documented.Contains((secret!, key!)), $"{w}: {name} reads {secret}/{key}, which secret.example.yaml does not document");
            }
        }

        Assert.True(seen >= 5, "expected the broker, database and ARI secrets of three services");
    }

    [Fact]
    public void ConfigMaps_hold_no_secrets()
    {
        Assert.NotEmpty(Kubernetes.OfKind("ConfigMap"));
        foreach (var map in Kubernetes.OfKind("ConfigMap"))
        {
            foreach (var (key, value) in map.Doc.Strings("data"))
            {
                Assert.False(LooksSecret(key), $"{map}: {key} belongs in a Secret");
                Assert.False(SecretValue().IsMatch(value), $"{map}: {key} holds a credential");
            }
        }
    }

    private static bool LooksSecret(string name) =>
        name.Contains("password", StringComparison.OrdinalIgnoreCase)
        || name.Contains("secret", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("ConnectionStrings__", StringComparison.Ordinal)
        || name.Contains("apikey", StringComparison.OrdinalIgnoreCase);

    // A password field of a connection string, user:password@ in a URL, or a gateway ?key=.
    [GeneratedRegex(@"(?i)password\s*=|://[^/\s:@]+:[^/\s@]+@|[?&]key=")]
    private static partial Regex SecretValue();
}
