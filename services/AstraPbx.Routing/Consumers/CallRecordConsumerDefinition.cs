using AstraPbx.Routing.Data;
using AstraPbx.ServiceDefaults.Messaging;
using MassTransit;

namespace AstraPbx.Routing.Consumers;

/// <summary>The endpoint settings of the consumers that write the call record (<see cref="CallEndedConsumer"/>,
/// <see cref="AiSessionEndedConsumer"/>, <see cref="FallbackTakenConsumer"/>). Each is a quorum queue (losing one
/// loses a record). A record is not urgent but must outlive a database restart: while the database is unavailable
/// the write is retried with backoff, 1 s doubling to 30 s, for about five minutes (<see cref="RecordWrite.RetryIntervals"/>),
/// then the message goes to the endpoint's <c>_error</c> queue. Other errors (a bug, not an outage) go there at once.</summary>
public abstract class CallRecordConsumerDefinition<TConsumer> : ConsumerDefinition<TConsumer>
    where TConsumer : class, IConsumer
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<TConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.UseQuorumQueue();
        endpointConfigurator.UseMessageRetry(r =>
        {
            r.Intervals(RecordWrite.RetryIntervals);
            r.Handle<Exception>(DatabaseFailures.IsTransient);
        });
    }
}
