namespace AstraPbx.Routing.Consumers;

public sealed class CallEndedConsumerDefinition : CallRecordConsumerDefinition<CallEndedConsumer>;
