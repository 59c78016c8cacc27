using System.Globalization;
using AstraPbx.Contracts.Calls;
using AstraPbx.Contracts.Media;
using AstraPbx.Routing.Resolution;
using MassTransit;
using Microsoft.Extensions.Options;

namespace AstraPbx.Routing.Orchestration;

/// <summary>Asks a relay for an AI session: <c>StartSessionRetries</c> further attempts after a failure, each with a
/// new session id, each cut to the decision's budget so that the fallback still reaches the ingress before its edge
/// deadline. No attempt is made while every relay heard from lately reports no room (<see cref="RelayCapacityView"/>),
/// and a request still waiting when they come to report it is given up at once: a full relay consumes no
/// <c>StartAiSession</c>, so the request would wait for the timeout and its retry for nothing (issue 13).</summary>
public sealed class AiSessionStarter(IRequestClient<StartAiSession> startAiSession, RelayCapacityView capacity, IOptionsMonitor<RoutingOptions> options, TimeProvider time, ILogger<AiSessionStarter> logger)
{
    public async Task<AiSessionAttempts> StartAsync(CallEnteredStasis message, RouteDecision decision, DecisionBudget budget, CancellationToken token)
    {
        var settings = options.CurrentValue;
        var relayTime = TimeSpan.Zero;
        var failure = "";
        var attempts = 0;
        for (var attempt = 0; attempt <= settings.StartSessionRetries; attempt++)
        {
            // Taken before the check: a report of no room arriving between the two still ends this attempt's wait.
            var noRoom = capacity.NoRoomReported;
            if (capacity.NoRelayHasRoom(out var relays))
            {
                // Also before a retry: an OverCapacity answer is often followed at once by the relay's report of no room.
                RoutingLog.NoRelayCapacity(logger, message.CallId, relays);
                return new AiSessionAttempts(null, attempts, relayTime, Reasons.NoRelayCapacity);
            }

            if (budget.NextAttempt() is not { } timeout)
            {
                RoutingLog.NoTimeForAttempt(logger, message.CallId, attempts + 1, budget.Left.GetValueOrDefault().TotalMilliseconds);
                if (attempts == 0)
                {
                    failure = Reasons.NoTimeLeft;
                }

                break;
            }

            attempts++;
            var sessionId = Guid.NewGuid();
            var asked = time.GetTimestamp();
            var asking = startAiSession.GetResponse<AiSessionReady, AiSessionFailed>(new StartAiSession
            {
                CallId = message.CallId,
                AsteriskId = message.AsteriskId,
                SessionId = sessionId,
                GatewayUrl = decision.GatewayUrl!,
                MediaMode = decision.MediaMode,
                CallerSampleRate = decision.CallerSampleRate,
                OrgId = decision.OrganizationId?.ToString(CultureInfo.InvariantCulture) ?? message.OrgId,
                CallerNumber = message.CallerNumber,
                Extension = message.Extension,
                ChannelName = message.ChannelName,
                CustomParameters = message.Variables,
            }, token, RequestTimeout.After(ms: (int)Math.Ceiling(timeout.TotalMilliseconds)));
            try
            {
                var response = await asking.WaitAsync(noRoom);
                relayTime += time.GetElapsedTime(asked);
                if (response.Is(out Response<AiSessionReady>? ready))
                {
                    return new AiSessionAttempts(ready.Message, attempts, relayTime, "");
                }

                if (response.Is(out Response<AiSessionFailed>? failed))
                {
                    failure = FailureName(failed.Message.Reason);
                    RoutingLog.SessionFailed(logger, message.CallId, sessionId, attempts, failure, failed.Message.RelayInstance);
                }
            }
            catch (RequestTimeoutException)
            {
                relayTime += time.GetElapsedTime(asked);
                failure = "timeout";
                RoutingLog.SessionFailed(logger, message.CallId, sessionId, attempts, failure, "");
            }
            catch (OperationCanceledException) when (noRoom.IsCancellationRequested && !token.IsCancellationRequested)
            {
                // Only the wait is given up, not the request: cancelling a request whose publish is not yet confirmed
                // faults the send (MassTransit logs an error). It ends at its timeout (its fault observed here), which is
                // also its TTL on the queue: docs/routing.md says what a relay that resumes before then does with it.
                _ = asking.ContinueWith(static t => t.Exception, CancellationToken.None,
                    TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                relayTime += time.GetElapsedTime(asked);
                RoutingLog.SessionFailed(logger, message.CallId, sessionId, attempts, Reasons.NoRelayCapacity, "");
                return new AiSessionAttempts(null, attempts, relayTime, Reasons.NoRelayCapacity);
            }
        }

        return new AiSessionAttempts(null, attempts, relayTime, failure);
    }

    /// <summary>The kebab-case name of a relay failure, as it appears in reasons (<c>ai-session-failed:over-capacity</c>).</summary>
    public static string FailureName(AiSessionFailure failure) => failure switch
    {
        AiSessionFailure.Dns => "dns",
        AiSessionFailure.Refused => "refused",
        AiSessionFailure.Tls => "tls",
        AiSessionFailure.Timeout => "gateway-timeout",
        AiSessionFailure.HandshakeRejected => "handshake-rejected",
        AiSessionFailure.OverCapacity => "over-capacity",
        AiSessionFailure.Draining => "draining",
        AiSessionFailure.InvalidUrl => "invalid-url",
        _ => "other",
    };
}
