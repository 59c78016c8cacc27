using AstraPbx.LocalRun.Infrastructure;
using AstraPbx.Simulators.Ari;
using AstraPbx.Simulators.Gateway;
using Npgsql;

namespace AstraPbx.LocalRun.Faults;

/// <summary>Everything a fault scenario breaks, on its own: a private broker and database
/// (<see cref="FaultInfrastructure"/>), the product deployed on them (<see cref="LocalDeployment"/>, one relay, an
/// echoing bot, the edge fallback pointing where Routing's fallback does) and a <see cref="SilentGateway"/> behind a bot
/// user of its own. Shared by the fault runner and the fault tests.</summary>
public sealed class FaultRig : IAsyncDisposable
{
    /// <summary>The extension of the bot user whose gateway never answers.</summary>
    public const string SlowBotExtension = "1890";

    private const string BotExtension = "1003";
    private const string SipExtension = "1001";
    private readonly Action<string>? _log;

    private FaultRig(FaultInfrastructure infrastructure, SilentGateway silentGateway, Action<string>? log)
    {
        Infrastructure = infrastructure;
        SilentGateway = silentGateway;
        _log = log;
    }

    public FaultInfrastructure Infrastructure { get; }

    public LocalDeployment Deployment { get; private set; } = null!;

    public SilentGateway SilentGateway { get; }

    /// <summary>Where Routing's fallback and the ingress's edge fallback send a call: the seed's reception queue.</summary>
    public (string Context, string Extension) FallbackTarget => (Deployment.InternalContext, "5001");

    private Dictionary<FaultCallKind, (int UserId, string Extension)> Users { get; } = [];

    public static async Task<FaultRig> StartAsync(FaultRigOptions options, CancellationToken cancellationToken = default)
    {
        var infrastructure = await FaultInfrastructure.StartAsync(options.Log, cancellationToken).ConfigureAwait(false);
        var rig = new FaultRig(infrastructure, SilentGateway.Start(), options.Log);
        try
        {
            rig.Deployment = await LocalDeployment.StartAsync(new LocalDeploymentOptions
            {
                RabbitMq = infrastructure.RabbitMq,
                Postgres = infrastructure.Postgres,
                Gateway = new FakeGatewayOptions { Behavior = GatewayBehavior.Echo },
                ReceiveTraces = false,
                WarmupSettleRounds = 0,
                StartSessionTimeout = options.StartSessionTimeout,
                EdgeFallbackAfter = options.EdgeFallbackAfter,
                Log = options.Log,
            }).WaitAsync(cancellationToken).ConfigureAwait(false);
            await rig.FindUsersAsync().ConfigureAwait(false);
            await rig.WarmUpAsync(cancellationToken).ConfigureAwait(false);
            return rig;
        }
        catch
        {
            await rig.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Places a call of <paramref name="kind"/> through the Asterisk simulator.</summary>
    public Task<SimulatedCall> DialAsync(FaultCallKind kind)
    {
        var (userId, extension) = Users[kind];
        return Deployment.Asterisk.StartCallAsync(new SimulatedCallOptions
        {
            StasisArgs = "ai_agent," + userId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Extension = extension,
            Context = Deployment.InternalContext,
            CallerNumber = "08065978011",
            CallerName = "Fault caller",
            Variables = new Dictionary<string, string> { ["ORG_ID"] = Deployment.OrgId },
        });
    }

    /// <summary>Puts back whatever a scenario may have left broken: the broker and the database running, every service
    /// but extra Routing instances running, all of them SERVING.</summary>
    public async Task RecoverAsync()
    {
        await Infrastructure.StartRabbitMqAsync().ConfigureAwait(false);
        await Infrastructure.StartPostgresAsync().ConfigureAwait(false);
        foreach (var service in Deployment.Services)
        {
            var extraRouting = service.Project == Deployment.Routing.Project && service != Deployment.Routing;
            if (!service.Running && !extraRouting)
            {
                _log?.Invoke($"recovery: starting {service.Name} again");
                await service.StartAgainAsync().ConfigureAwait(false);
            }
        }

        await Deployment.WaitServingAsync().ConfigureAwait(false);
    }

    /// <summary>Writes every service process's output and the broker's and database's logs to <paramref name="folder"/>.</summary>
    public async Task WriteLogsAsync(string folder, string prefix)
    {
        if (Deployment is not null)
        {
            await Deployment.WriteLogsAsync(folder, prefix).ConfigureAwait(false);
        }

        Infrastructure.CopyLogs(folder, prefix);
    }

    private async Task FindUsersAsync()
    {
        await using var connection = new NpgsqlConnection(Infrastructure.Postgres);
        await connection.OpenAsync().ConfigureAwait(false);
        await using var insert = new NpgsqlCommand(
            "INSERT INTO users (organization_id, extension, name, routing_type, routing_destination) " +
            "SELECT o.id, @ext, 'Silent bot', 'ai_agent', @url FROM organizations o ORDER BY o.id LIMIT 1", connection);
        insert.Parameters.AddWithValue("ext", SlowBotExtension);
        insert.Parameters.AddWithValue("url", SilentGateway.Url);
        await insert.ExecuteNonQueryAsync().ConfigureAwait(false);
        foreach (var (kind, extension) in new[] { (FaultCallKind.Bot, BotExtension), (FaultCallKind.SlowBot, SlowBotExtension), (FaultCallKind.SipUser, SipExtension) })
        {
            Users[kind] = (await Deployment.IdOfAsync("users", extension).ConfigureAwait(false), extension);
        }
    }

    /// <summary>One AI call and one dialplan call before any scenario: the first calls after a start pay for JIT and
    /// connection set-up, which is not what a fault scenario measures.</summary>
    private async Task WarmUpAsync(CancellationToken cancellationToken)
    {
        var patience = TimeSpan.FromSeconds(60);
        foreach (var kind in new[] { FaultCallKind.Bot, FaultCallKind.SipUser })
        {
            var call = await DialAsync(kind).ConfigureAwait(false);
            try
            {
                await call.Continued.WaitAsync(patience, cancellationToken).ConfigureAwait(false);
                if (kind == FaultCallKind.Bot)
                {
                    await call.AudioSocketDialled.WaitAsync(patience, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                // Not fatal: the scenarios classify whatever happens to their own calls.
                _log?.Invoke($"warm-up: the {kind} call was not connected within {patience.TotalSeconds:0} s ({e.GetType().Name})");
            }
            finally
            {
                await call.HangUpAsync().ConfigureAwait(false);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Deployment is not null)
        {
            await Deployment.DisposeAsync().ConfigureAwait(false);
        }

        await SilentGateway.DisposeAsync().ConfigureAwait(false);
        await Infrastructure.DisposeAsync().ConfigureAwait(false);
    }
}
