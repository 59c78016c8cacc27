using AstraPbx.AriIngress.Ari;
using AstraPbx.AriIngress.Consumers;
using AstraPbx.Contracts;
using AstraPbx.ServiceDefaults.Messaging;
using MassTransit;

namespace AstraPbx.AriIngress.Hosting;

/// <summary>Connects this Asterisk's own command queue (<see cref="Endpoints.AriIngressQueue"/>) once the Asterisk id
/// is known, which may be only after <c>GET /ari/asterisk/info</c> answered. The command consumers are therefore
/// excluded from <c>ConfigureEndpoints</c> and attached here.</summary>
internal sealed class CommandEndpoint(AriConnection connection, BusStarted busStarted, IReceiveEndpointConnector connector,
    ILogger<CommandEndpoint> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var asteriskId = await connection.AsteriskIdKnown.WaitAsync(stoppingToken).ConfigureAwait(false);
            await busStarted.Started.WaitAsync(stoppingToken).ConfigureAwait(false);
            var queue = Endpoints.AriIngressQueue(asteriskId);
            var handle = connector.ConnectReceiveEndpoint(queue, (context, endpoint) =>
            {
                endpoint.ConfigureConsumer<ConnectToRelayConsumer>(context);
                endpoint.ConfigureConsumer<ContinueInDialplanConsumer>(context);
                endpoint.ConfigureConsumer<HangupCallConsumer>(context);
            });
            await handle.Ready.WaitAsync(stoppingToken).ConfigureAwait(false);
            connection.SetCommandQueueReady(queue);
            logger.CommandQueueConnected(asteriskId, queue);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
