namespace AstraPbx.AriIngress.Consumers;

internal sealed class ContinueInDialplanConsumerDefinition : AriCommandDefinition<ContinueInDialplanConsumer>;
