using AstraPbx.Simulators.Ari;
using AstraPbx.Simulators.Gateway;
using Npgsql;

namespace AstraPbx.LocalRun;

/// <summary>The whole product on one machine, as a user deploys it: Routing, AriIngress and the media relays as their
/// own processes from their build output, talking over the real broker and database, with the Asterisk simulator in
/// front and a fake AI gateway behind. Services can be SIGKILLed and started again (<see cref="DeployedService"/>) and
/// more Routing instances started, for the fault suite. Used by <c>scripts/demo</c>, the end-to-end and fault tests.</summary>
public sealed class LocalDeployment : IAsyncDisposable
{
    private const string IngressUser = "astrapbx";
    private readonly LocalDeploymentOptions _options;
    private readonly List<RelayInstance> _relays = [];
    private readonly List<DeployedService> _routing = [];
    private readonly string _ariPassword = "ari-" + Guid.NewGuid().ToString("N");

    private LocalDeployment(LocalDeploymentOptions options)
    {
        _options = options;
    }

    public AsteriskSimulator Asterisk { get; private set; } = null!;

    public FakeGateway Gateway { get; private set; } = null!;

    public OtlpReceiver? Traces { get; private set; }

    /// <summary>The first Routing instance (see <see cref="RoutingInstances"/>).</summary>
    public DeployedService Routing => _routing[0];

    /// <summary>Every Routing instance started, killed ones included.</summary>
    public IReadOnlyList<DeployedService> RoutingInstances => _routing;

    public DeployedService Ingress { get; private set; } = null!;

    public IReadOnlyList<RelayInstance> Relays => _relays;

    /// <summary>The ARI password the ingress uses; tests check it never shows.</summary>
    public string AriPassword => _ariPassword;

    /// <summary>The seed's organisation id (ORG_ID of its calls).</summary>
    public string OrgId { get; private set; } = "";

    /// <summary>The seed's generated internal context (where its extensions live).</summary>
    public string InternalContext { get; private set; } = "";

    public static async Task<LocalDeployment> StartAsync(LocalDeploymentOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.RoutingInstances, 1, nameof(options.RoutingInstances));
        var deployment = new LocalDeployment(options);
        try
        {
            await deployment.StartAllAsync().ConfigureAwait(false);
            return deployment;
        }
        catch
        {
            await deployment.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private void Log(string line) => _options.Log?.Invoke(line);

    private async Task StartAllAsync()
    {
        if (_options.ReceiveTraces && _options.OtlpEndpoint is null)
        {
            Traces = await OtlpReceiver.StartAsync().ConfigureAwait(false);
        }

        Gateway = await FakeGateway.StartAsync(_options.Gateway).ConfigureAwait(false);
        Log($"AI gateway (demo bot) listening on {Gateway.BaseUrl}");
        Asterisk = await AsteriskSimulator.StartAsync(new AsteriskSimulatorOptions { Password = _ariPassword }).ConfigureAwait(false);
        Log($"Asterisk simulator (ARI) on {Asterisk.BaseUrl}");

        var seed = await ServiceProcess.RunAsync("AstraPbx.Routing", ["seed", "--gateway-url", Gateway.Url.ToString()],
            new Dictionary<string, string?> { ["ConnectionStrings__postgres"] = _options.Postgres }, TimeSpan.FromSeconds(120)).ConfigureAwait(false);
        if (seed.ExitCode != 0)
        {
            throw new InvalidOperationException("routing seed failed:\n" + seed.Output);
        }

        Log("database migrated and seeded (org 1: 1001 Hari, 1002 Surya, 1003 AI Bot; queue 5001 reception -> 1003)");
        await ReadSeedAsync().ConfigureAwait(false);

        for (var i = 0; i < _options.RoutingInstances; i++)
        {
            StartRouting();
        }

        Ingress = StartService("ingress", "AstraPbx.AriIngress", IngressSettings());
        for (var i = 0; i < _options.Relays; i++)
        {
            await StartRelayAsync().ConfigureAwait(false);
        }

        foreach (var routing in _routing)
        {
            await routing.WaitServingAsync().ConfigureAwait(false);
        }

        await Ingress.WaitServingAsync().ConfigureAwait(false);
        await Asterisk.WaitForEventSocketAsync().WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        Log("all services SERVING; the ingress is connected to ARI");
    }

    private Dictionary<string, string?> IngressSettings()
    {
        var settings = new Dictionary<string, string?>(_options.IngressSettings)
        {
            ["Ari__BaseUrl"] = Asterisk.BaseUrl,
            ["Ari__Username"] = IngressUser,
            ["Ari__Password"] = _ariPassword,
        };
        if (_options.EdgeFallback)
        {
            settings["Ari__EdgeFallbackContext"] = InternalContext;
            settings["Ari__EdgeFallbackExtension"] = _options.FallbackExtension;
            settings["Ari__EdgeFallbackPriority"] = "1";
        }

        if (_options.EdgeFallbackAfter is { } after)
        {
            settings["Ari__EdgeFallbackAfter"] = Invariant(after);
        }

        return settings;
    }

    private DeployedService StartRouting()
    {
        var settings = new Dictionary<string, string?>(_options.RoutingSettings)
        {
            ["ConnectionStrings__postgres"] = _options.Postgres,
            ["Routing__FallbackContext"] = InternalContext,
            ["Routing__FallbackExtension"] = _options.FallbackExtension,
        };
        if (_options.StartSessionTimeout is { } timeout)
        {
            settings["Routing__StartSessionTimeout"] = Invariant(timeout);
        }

        var routing = StartService($"routing-{_routing.Count + 1}", "AstraPbx.Routing", settings);
        _routing.Add(routing);
        return routing;
    }

    /// <summary>Starts one more Routing process (a competing consumer of the same queues) and waits until it serves.</summary>
    public async Task<DeployedService> StartRoutingAsync()
    {
        var routing = StartRouting();
        await routing.WaitServingAsync().ConfigureAwait(false);
        return routing;
    }

    /// <summary>Starts one more media relay process and waits until it serves.</summary>
    public async Task<RelayInstance> StartRelayAsync()
    {
        var name = $"relay-{_relays.Count + 1}";
        var audioSocketPort = ServiceProcess.FreePort();
        var settings = new Dictionary<string, string?>(_options.RelaySettings)
        {
            ["Relay__AudioSocketPort"] = Invariant(audioSocketPort),
            ["Relay__InstanceName"] = name,
            ["Relay__DrainTimeout"] = Invariant(_options.DrainTimeout),
        };
        var service = StartService(name, "AstraPbx.MediaRelay", settings);
        var relay = new RelayInstance(name, service, audioSocketPort);
        _relays.Add(relay);
        await service.WaitServingAsync().ConfigureAwait(false);
        return relay;
    }

    /// <summary>Every service, killed ones included: Routing instances, the ingress, the relays.</summary>
    public IEnumerable<DeployedService> Services =>
        _routing.Concat(Ingress is null ? [] : [Ingress]).Concat(_relays.Select(r => r.Service));

    /// <summary>Waits until every service not deliberately killed reports SERVING (after a fault, for example).</summary>
    public async Task WaitServingAsync()
    {
        foreach (var service in Services)
        {
            if (!service.Killed)
            {
                await service.WaitServingAsync().ConfigureAwait(false);
            }
        }
    }

    private DeployedService StartService(string name, string project, Dictionary<string, string?> settings)
    {
        settings["ConnectionStrings__rabbitmq"] = _options.RabbitMq;
        var otlp = _options.OtlpEndpoint ?? Traces?.Endpoint;
        if (otlp is not null)
        {
            settings["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp;
            settings["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc";
            settings["OTEL_BSP_SCHEDULE_DELAY"] = "200";
            settings["OTEL_SERVICE_NAME"] = project;
        }

        if (_options.WarmupSettleRounds is { } rounds)
        {
            settings["Warmup__SettleRounds"] = Invariant(rounds);
        }

        settings["Logging__LogLevel__Default"] = "Information";
        var service = new DeployedService(name, project, settings);
        service.Start();
        Log($"started {name} (gRPC health {service.Url})");
        return service;
    }

    private static string Invariant(TimeSpan value) => value.ToString("c", System.Globalization.CultureInfo.InvariantCulture);

    private static string Invariant(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private async Task ReadSeedAsync()
    {
        await using var connection = new NpgsqlConnection(_options.Postgres);
        await connection.OpenAsync().ConfigureAwait(false);
        await using var command = new NpgsqlCommand("SELECT id, context_prefix FROM organizations ORDER BY id LIMIT 1", connection);
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        if (!await reader.ReadAsync().ConfigureAwait(false))
        {
            throw new InvalidOperationException("the seed wrote no organisation");
        }

        OrgId = reader.GetInt32(0).ToString(System.Globalization.CultureInfo.InvariantCulture);
        InternalContext = reader.GetString(1) + "-internal";
    }

    /// <summary>The database id of the seed's queue or user with this number/extension.</summary>
    public async Task<int> IdOfAsync(string table, string numberOrExtension)
    {
        var column = table == "queues" ? "number" : "extension";
        await using var connection = new NpgsqlConnection(_options.Postgres);
        await connection.OpenAsync().ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"SELECT id FROM {(table == "queues" ? "queues" : "users")} WHERE {column} = @n", connection);
        command.Parameters.AddWithValue("n", numberOrExtension);
        return (int)(await command.ExecuteScalarAsync().ConfigureAwait(false) ?? throw new InvalidOperationException($"no {table} row {numberOrExtension}"));
    }

    /// <summary>Runs SQL against the routing database (tests change the routing data between calls).</summary>
    public async Task ExecuteAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(_options.Postgres);
        await connection.OpenAsync().ConfigureAwait(false);
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    /// <summary>The call record row of a call, column name to value (null while there is none).</summary>
    public async Task<IReadOnlyDictionary<string, object?>?> CallRecordAsync(string callId)
    {
        await using var connection = new NpgsqlConnection(_options.Postgres);
        await connection.OpenAsync().ConfigureAwait(false);
        await using var command = new NpgsqlCommand("SELECT * FROM call_records WHERE call_id = @id", connection);
        command.Parameters.AddWithValue("id", callId);
        await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        if (!await reader.ReadAsync().ConfigureAwait(false))
        {
            return null;
        }

        var row = new Dictionary<string, object?>(StringComparer.Ordinal);
        for (var i = 0; i < reader.FieldCount; i++)
        {
            row[reader.GetName(i)] = reader.IsDBNull(i) ? null : reader.GetValue(i);
        }

        return row;
    }

    /// <summary>Everything every process printed, for failure messages and secret checks.</summary>
    public string AllOutput() => string.Join('\n', Services.Select(s => s.OutputText()));

    /// <summary>Writes what every process printed to <paramref name="folder"/>, one file per process.</summary>
    public async Task WriteLogsAsync(string folder, string prefix)
    {
        Directory.CreateDirectory(folder);
        foreach (var service in Services)
        {
            await service.WriteLogsAsync(folder, prefix).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var service in Services.Reverse())
        {
            await service.DisposeAsync().ConfigureAwait(false);
        }

        if (Asterisk is not null)
        {
            await Asterisk.DisposeAsync().ConfigureAwait(false);
        }

        if (Gateway is not null)
        {
            await Gateway.DisposeAsync().ConfigureAwait(false);
        }

        if (Traces is not null)
        {
            await Traces.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>One media relay process: its name (instance), its service, its AudioSocket port.</summary>
public sealed record RelayInstance(string Name, DeployedService Service, int AudioSocketPort)
{
    public ServiceProcess Process => Service.Process;

    /// <summary>The gRPC (health + admin) URL.</summary>
    public string Url => Service.Url;
}
