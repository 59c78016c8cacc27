namespace AstraPbx.Routing.Consumers;

public sealed class AiSessionEndedConsumerDefinition : CallRecordConsumerDefinition<AiSessionEndedConsumer>;
