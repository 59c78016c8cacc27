using MassTransit;

namespace AstraPbx.ServiceDefaults.Messaging;

/// <summary>Queue types chosen per endpoint (docs/reliability.md says why each one is what it is).</summary>
public static class QueueTypes
{
    /// <summary>Declares the endpoint's queue as a quorum queue: durable, replicated in a cluster, confirmed only once
    /// stored. For queues where losing a message loses a call. No-op on transports other than RabbitMQ.</summary>
    public static void UseQuorumQueue(this IReceiveEndpointConfigurator endpoint)
    {
        if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbit)
        {
            rabbit.SetQuorumQueue();
        }
    }
}
