namespace AstraPbx.AriIngress.Consumers;

internal sealed class ConnectToRelayConsumerDefinition : AriCommandDefinition<ConnectToRelayConsumer>;
