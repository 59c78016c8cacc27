using AstraPbx.Simulators.Ari;
using AstraPbx.Simulators.Gateway;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Npgsql;

namespace AstraPbx.LocalRun;

/// <summary>What to run: where the broker and the database are, and how the pieces behave.</summary>
public sealed class LocalDeploymentOptions
{
    /// <summary>AMQP connection string (its own virtual host in tests).</summary>
    public required string RabbitMq { get; init; }

    /// <summary>Npgsql connection string of the routing database (created empty; migrated and seeded here).</summary>
    public required string Postgres { get; init; }

    /// <summary>Media relays to start (0 for the "no relay running" case).</summary>
    public int Relays { get; init; } = 1;

    /// <summary>How the AI gateway (the bot) behaves.</summary>
    public FakeGatewayOptions Gateway { get; init; } = new() { Behavior = GatewayBehavior.Echo };

    /// <summary>Where Routing sends a call it cannot follow (the seed's reception queue, 5001).</summary>
    public string FallbackExtension { get; init; } = "5001";

    /// <summary>Routing's wait for a relay's answer to StartAiSession.</summary>
    public TimeSpan StartSessionTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The relay's drain timeout.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Send every service's spans to this OTLP/gRPC endpoint; the deployment's own receiver when null and
    /// <see cref="ReceiveTraces"/> is set.</summary>
    public string? OtlpEndpoint { get; init; }

    /// <summary>Start an in-process OTLP receiver and point the services at it.</summary>
    public bool ReceiveTraces { get; init; } = true;

    /// <summary>Progress lines (the demo prints them).</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>The whole product on one machine, as a user deploys it: Routing, AriIngress and the media relays as their
/// own processes from their build output, talking over the real broker and database, with the Asterisk simulator in
/// front and a fake AI gateway behind. Used by <c>scripts/demo</c> and the end-to-end tests.</summary>
public sealed class LocalDeployment : IAsyncDisposable
{
    private const string IngressUser = "astrapbx";
    private readonly LocalDeploymentOptions _options;
    private readonly List<RelayInstance> _relays = [];
    private readonly string _ariPassword = "ari-" + Guid.NewGuid().ToString("N");

    private LocalDeployment(LocalDeploymentOptions options)
    {
        _options = options;
    }

    public AsteriskSimulator Asterisk { get; private set; } = null!;

    public FakeGateway Gateway { get; private set; } = null!;

    public OtlpReceiver? Traces { get; private set; }

    public ServiceProcess Routing { get; private set; } = null!;

    public ServiceProcess Ingress { get; private set; } = null!;

    public string RoutingUrl { get; private set; } = "";

    public string IngressUrl { get; private set; } = "";

    public IReadOnlyList<RelayInstance> Relays => _relays;

    /// <summary>The ARI password the ingress uses; tests check it never shows.</summary>
    public string AriPassword => _ariPassword;

    /// <summary>The seed's organisation id (ORG_ID of its calls).</summary>
    public string OrgId { get; private set; } = "";

    /// <summary>The seed's generated internal context (where its extensions live).</summary>
    public string InternalContext { get; private set; } = "";

    public static async Task<LocalDeployment> StartAsync(LocalDeploymentOptions options)
    {
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

        (Routing, RoutingUrl) = StartService("AstraPbx.Routing", new()
        {
            ["ConnectionStrings__postgres"] = _options.Postgres,
            ["Routing__FallbackContext"] = InternalContext,
            ["Routing__FallbackExtension"] = _options.FallbackExtension,
            ["Routing__StartSessionTimeout"] = _options.StartSessionTimeout.ToString("c", System.Globalization.CultureInfo.InvariantCulture),
        });
        (Ingress, IngressUrl) = StartService("AstraPbx.AriIngress", new()
        {
            ["Ari__BaseUrl"] = Asterisk.BaseUrl,
            ["Ari__Username"] = IngressUser,
            ["Ari__Password"] = _ariPassword,
        });
        for (var i = 0; i < _options.Relays; i++)
        {
            await StartRelayAsync().ConfigureAwait(false);
        }

        await WaitServingAsync("AstraPbx.Routing", Routing, RoutingUrl).ConfigureAwait(false);
        await WaitServingAsync("AstraPbx.AriIngress", Ingress, IngressUrl).ConfigureAwait(false);
        await Asterisk.WaitForEventSocketAsync().WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        Log("all services SERVING; the ingress is connected to ARI");
    }

    /// <summary>Starts one more media relay process and waits until it serves.</summary>
    public async Task<RelayInstance> StartRelayAsync()
    {
        var name = $"relay-{_relays.Count + 1}";
        var audioSocketPort = ServiceProcess.FreePort();
        var (process, url) = StartService("AstraPbx.MediaRelay", new()
        {
            ["Relay__AudioSocketPort"] = audioSocketPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Relay__InstanceName"] = name,
            ["Relay__DrainTimeout"] = _options.DrainTimeout.ToString("c", System.Globalization.CultureInfo.InvariantCulture),
        }, name);
        var relay = new RelayInstance(name, process, url, audioSocketPort);
        _relays.Add(relay);
        await WaitServingAsync(name, process, url).ConfigureAwait(false);
        return relay;
    }

    private (ServiceProcess Process, string Url) StartService(string project, Dictionary<string, string?> settings, string? serviceName = null)
    {
        var url = $"http://127.0.0.1:{ServiceProcess.FreePort()}";
        settings["ConnectionStrings__rabbitmq"] = _options.RabbitMq;
        settings["Urls"] = url;
        var otlp = _options.OtlpEndpoint ?? Traces?.Endpoint;
        if (otlp is not null)
        {
            settings["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp;
            settings["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc";
            settings["OTEL_BSP_SCHEDULE_DELAY"] = "200";
            settings["OTEL_SERVICE_NAME"] = project;
        }

        settings["Logging__LogLevel__Default"] = "Information";
        var process = ServiceProcess.Start(project, [], settings);
        Log($"started {serviceName ?? project} (gRPC health {url})");
        return (process, url);
    }

    private static async Task WaitServingAsync(string name, ServiceProcess process, string url)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        using var channel = GrpcChannel.ForAddress(url);
        var client = new Health.HealthClient(channel);
        while (true)
        {
            if (process.Exited.IsCompleted)
            {
                throw new InvalidOperationException($"{name} exited with {process.Exited.Result}:\n{process.OutputText}");
            }

            try
            {
                var reply = await client.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(5)).ConfigureAwait(false);
                if (reply.Status == HealthCheckResponse.Types.ServingStatus.Serving)
                {
                    return;
                }
            }
            catch (Grpc.Core.RpcException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{name} did not report SERVING within 90 s:\n{process.OutputText}");
            }

            await Task.Delay(200).ConfigureAwait(false);
        }
    }

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
    public string AllOutput() =>
        string.Join('\n', new[] { Routing?.OutputText, Ingress?.OutputText }.Concat(_relays.Select(r => r.Process.OutputText)));

    /// <summary>Writes what every process printed to <paramref name="folder"/>, one file per process.</summary>
    public async Task WriteLogsAsync(string folder, string prefix)
    {
        Directory.CreateDirectory(folder);
        var processes = new List<(string Name, ServiceProcess? Process)> { ("routing", Routing), ("ingress", Ingress) };
        processes.AddRange(_relays.Select(r => (r.Name, (ServiceProcess?)r.Process)));
        foreach (var (name, process) in processes)
        {
            if (process is not null)
            {
                await File.WriteAllTextAsync(Path.Combine(folder, $"{prefix}-{name}.log"), process.OutputText).ConfigureAwait(false);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var relay in _relays)
        {
            await relay.Process.DisposeAsync().ConfigureAwait(false);
        }

        if (Ingress is not null)
        {
            await Ingress.DisposeAsync().ConfigureAwait(false);
        }

        if (Routing is not null)
        {
            await Routing.DisposeAsync().ConfigureAwait(false);
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

/// <summary>One media relay process: its name (instance), its gRPC (health + admin) URL, its AudioSocket port.</summary>
public sealed record RelayInstance(string Name, ServiceProcess Process, string Url, int AudioSocketPort);
