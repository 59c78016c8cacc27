using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay.Sessions;
using MassTransit;

namespace AstraPbx.MediaRelay.Consumers;

/// <summary>Thin: prepares the session and replies <see cref="AiSessionReady"/> or <see cref="AiSessionFailed"/>.
/// Its endpoint is connected by <see cref="Hosting.StartAiSessionEndpoint"/> (not ConfigureEndpoints) so a drain can
/// stop it. The preparation ends when the request expires (Routing's timeout, carried as the message's TTL): a bot
/// that accepts TCP and never answers must not hold this relay's preparation slots for the whole gateway connect
/// timeout after Routing gave up, or every other call's session waits behind it.</summary>
[ExcludeFromConfigureEndpoints]
public sealed class StartAiSessionConsumer(SessionPreparer preparer, Hosting.StartAiSessionEndpoint endpoint, ILogger<StartAiSessionConsumer> logger) : IConsumer<StartAiSession>
{
    public async Task Consume(ConsumeContext<StartAiSession> context)
    {
        using var expiry = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        if (context.ExpirationTime is { } expires)
        {
            expiry.CancelAfter(TimeSpan.FromTicks(Math.Max(0, (expires.ToUniversalTime() - DateTime.UtcNow).Ticks)));
        }

        PrepareResult result;
        try
        {
            result = endpoint.SentWhilePaused(context.SentTime)
                ? preparer.RefuseQueuedWhileFull(context.Message)
                : await preparer.PrepareAsync(context.Message, expiry.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (expiry.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            MediaRelayLog.RequestExpired(logger, context.Message.CallId, context.Message.SessionId);
            return;
        }

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
