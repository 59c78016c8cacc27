namespace AstraPbx.AriIngress.Consumers;

internal sealed class HangupCallConsumerDefinition : AriCommandDefinition<HangupCallConsumer>;
