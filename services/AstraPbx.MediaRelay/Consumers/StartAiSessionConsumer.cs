using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay.Sessions;
using MassTransit;

namespace AstraPbx.MediaRelay.Consumers;

/// <summary>Thin: prepares the session and replies <see cref="AiSessionReady"/> or <see cref="AiSessionFailed"/>.
/// Its endpoint is connected by <see cref="Hosting.StartAiSessionEndpoint"/> (not ConfigureEndpoints) so a drain can
/// stop it.</summary>
[ExcludeFromConfigureEndpoints]
public sealed class StartAiSessionConsumer(SessionPreparer preparer) : IConsumer<StartAiSession>
{
    public async Task Consume(ConsumeContext<StartAiSession> context)
    {
        var result = await preparer.PrepareAsync(context.Message, context.CancellationToken).ConfigureAwait(false);
        if (result.Ready is not null)
        {
            await context.RespondAsync(result.Ready).ConfigureAwait(false);
        }
        else
        {
            await context.RespondAsync(result.Failed!).ConfigureAwait(false);
        }
    }
}
