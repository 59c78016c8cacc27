using System.Globalization;
using AstraPbx.Contracts.Calls;
using AstraPbx.Contracts.Media;
using AstraPbx.Routing.Data;
using AstraPbx.Routing.Dialplan;
using Microsoft.Extensions.Options;

namespace AstraPbx.Routing.Resolution;

/// <summary>Decides from the database what a call that entered <c>Stasis(app, args...)</c> becomes. Reads the tables
/// at every call, so a change applies to the next call. Every route that cannot be followed ends in the configured
/// fallback with a specific reason (<see cref="Reasons"/>), never in silence.</summary>
public sealed class RouteResolver(RoutingRepository repository, IOptionsMonitor<RoutingOptions> options)
{
    /// <summary>Queue timeouts followed in one decision before giving up (a chain this long is a misconfiguration).</summary>
    public const int MaxHops = 16;

    /// <summary>How often an <c>ai_ended</c> entry looks for the session's recorded ending while it waits.</summary>
    private static readonly TimeSpan AiSessionEndPoll = TimeSpan.FromMilliseconds(50);

    /// <summary>Resolves the Stasis arguments. <paramref name="queuesAlreadyTimedOut"/> are the queues this call has
    /// already timed out of (earlier Stasis entries of the same channel): sending it back to one of them is a loop.</summary>
    public async Task<RouteDecision> ResolveAsync(IReadOnlyList<string> stasisArgs, IReadOnlyCollection<int> queuesAlreadyTimedOut, CancellationToken token)
    {
        var kind = stasisArgs.Count > 0 ? stasisArgs[0] : "";
        var argument = stasisArgs.Count > 1 ? stasisArgs[1] : "";
        switch (kind)
        {
            case "ai_agent":
            {
                List<string> path = ["ai_agent:" + argument];
                if (stasisArgs.Count != 2 || !TryParseId(argument, out var userId))
                {
                    return Fallback(Reasons.BadStasisArgument, path);
                }

                var user = await repository.UserByIdAsync(userId, token);
                return user is null ? Fallback(Reasons.UserNotFound, path) : ResolveUser(user, path, replacesLastStep: true);
            }

            case "queue_timeout":
            {
                List<string> path = ["queue_timeout:" + argument];
                if (stasisArgs.Count != 2 || !TryParseId(argument, out var queueId))
                {
                    return Fallback(Reasons.BadStasisArgument, path);
                }

                var queue = await repository.QueueByIdAsync(queueId, token);
                if (queue is null)
                {
                    return Fallback(Reasons.QueueNotFound, path);
                }

                path[0] = "queue:" + queue.Number;
                var visited = new HashSet<int>(queuesAlreadyTimedOut) { queue.Id };
                return await FollowTimeoutAsync(queue, visited, path, token);
            }

            case "ai_failed":
                return Fallback(Reasons.RelayFailed, ["ai_failed:" + argument]);

            case "ai_ended":
            {
                List<string> path = ["ai_ended:" + argument];
                return stasisArgs.Count == 2 && Guid.TryParse(argument, out var sessionId)
                    ? await AfterAiSessionAsync(sessionId, path, token)
                    : Fallback(Reasons.BadStasisArgument, path);
            }

            default:
                return Fallback(Reasons.UnknownStasisArgs, ["stasis:" + string.Join(',', stasisArgs)]);
        }
    }

    /// <summary>How long resolving these arguments may wait on purpose, on top of its database round trips: up to
    /// <c>Routing:AiSessionEndWait</c> for an <c>ai_ended</c> entry (<see cref="AfterAiSessionAsync"/>), else nothing.</summary>
    public TimeSpan PlannedWait(IReadOnlyList<string> stasisArgs) =>
        stasisArgs.Count > 0 && stasisArgs[0] == "ai_ended" ? options.CurrentValue.AiSessionEndWait : TimeSpan.Zero;

    /// <summary>A wideband AI leg (<c>Dial(AudioSocket/...)</c>) ended with the caller still up. The dialplan cannot tell
    /// a bot that hung up from one that failed (PROTOCOLS.md 1), so the relay's <c>AiSessionEnded</c>, recorded per
    /// session, decides: the bot ending the call (<c>stop</c>, close 1000/1001) hangs up; anything else, or no ending
    /// recorded within <c>Routing:AiSessionEndWait</c> (a relay that died with the session), goes to the fallback.</summary>
    private async Task<RouteDecision> AfterAiSessionAsync(Guid sessionId, List<string> path, CancellationToken token)
    {
        var deadline = DateTimeOffset.UtcNow + options.CurrentValue.AiSessionEndWait;
        while (true)
        {
            if (await repository.AiSessionEndingAsync(sessionId, token) is { } ending)
            {
                path.Add("ended:" + ending.Reason);
                return ending.EndedBy == "gateway" && ending.Reason is "gateway-stop" or "gateway-closed"
                    ? new RouteDecision { Outcome = RouteOutcome.Hangup, Path = path, Reason = Reasons.BotEndedPrefix + ending.Reason }
                    : Fallback(Reasons.AiSessionFailedPrefix + ending.Reason, path);
            }

            var left = deadline - DateTimeOffset.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                return Fallback(Reasons.AiSessionEndUnknown, path);
            }

            await Task.Delay(left < AiSessionEndPoll ? left : AiSessionEndPoll, token);
        }
    }

    /// <summary>The configured fallback (<c>Routing:FallbackContext/FallbackExtension</c>), or a hangup when none is set.</summary>
    public RouteDecision Fallback(string reason, IReadOnlyList<string> path)
    {
        var o = options.CurrentValue;
        return o.HasFallbackTarget
            ? new RouteDecision { Outcome = RouteOutcome.Fallback, Path = path, Reason = reason, Context = o.FallbackContext, Extension = o.FallbackExtension, Priority = o.FallbackPriority }
            : new RouteDecision { Outcome = RouteOutcome.Hangup, Path = path, Reason = reason };
    }

    private async Task<RouteDecision> FollowTimeoutAsync(QueueRow queue, HashSet<int> visited, List<string> path, CancellationToken token)
    {
        var skippedEmptyQueue = false;
        for (var hop = 0; hop < MaxHops; hop++)
        {
            var destination = queue.TimeoutDestination ?? "";
            switch (queue.TimeoutDestinationType)
            {
                case DestinationType.None:
                    // A queue reached only because the ones before it had nobody to ring is a dead end; a queue the call
                    // really waited in, configured with no destination, means "hang up" and is said so.
                    return skippedEmptyQueue
                        ? Fallback(Reasons.DeadEnd, path)
                        : new RouteDecision { Outcome = RouteOutcome.Hangup, Path = path, Reason = Reasons.NoTimeoutDestination, OrganizationId = queue.OrganizationId };

                case DestinationType.Phone:
                    path.Add("phone:" + destination);
                    return DialplanValues.IsPhoneNumber(destination)
                        ? Continue(DialplanValues.OutboundContext(queue.ContextPrefix), destination, path, queue.OrganizationId)
                        : Fallback(Reasons.InvalidPhoneNumber, path);

                case DestinationType.Extension:
                {
                    path.Add("extension:" + destination);
                    var user = await repository.UserByExtensionAsync(queue.OrganizationId, destination, token);
                    return user is null ? Fallback(Reasons.ExtensionNotFound, path) : ResolveUser(user, path, replacesLastStep: false);
                }

                case DestinationType.Queue:
                {
                    path.Add("queue:" + destination);
                    var next = await repository.QueueByNumberAsync(queue.OrganizationId, destination, token);
                    if (next is null)
                    {
                        return Fallback(Reasons.QueueNotFound, path);
                    }

                    if (!visited.Add(next.Id))
                    {
                        return Fallback(Reasons.Loop, path);
                    }

                    if (next.ActiveMembers > 0)
                    {
                        return DialplanValues.IsExtension(next.Number)
                            ? Continue(DialplanValues.InternalContext(next.ContextPrefix), next.Number, path, next.OrganizationId)
                            : Fallback(Reasons.InvalidExtension, path);
                    }

                    // Nobody could answer there: follow that queue's own timeout at once rather than make the caller wait.
                    skippedEmptyQueue = true;
                    queue = next;
                    continue;
                }

                default:
                    return Fallback(Reasons.UnknownRoutingType, path);
            }
        }

        return Fallback(Reasons.TooDeep, path);
    }

    private RouteDecision ResolveUser(UserRow user, List<string> path, bool replacesLastStep)
    {
        var step = user.RoutingType switch
        {
            RoutingType.AiAgent => "ai_agent:" + user.Id.ToString(CultureInfo.InvariantCulture),
            RoutingType.Sip => "sip:" + user.Extension,
            RoutingType.Phone => "phone:" + user.RoutingDestination,
            _ => "user:" + user.Id.ToString(CultureInfo.InvariantCulture),
        };
        if (replacesLastStep)
        {
            path[^1] = step;
        }
        else
        {
            path.Add(step);
        }

        if (!user.IsActive)
        {
            return Fallback(Reasons.UserInactive, path);
        }

        switch (user.RoutingType)
        {
            case RoutingType.AiAgent:
                return IsGatewayUrl(user.RoutingDestination)
                    ? new RouteDecision
                    {
                        Outcome = RouteOutcome.AiAgent,
                        Path = path,
                        GatewayUrl = user.RoutingDestination,
                        MediaMode = user.AiMediaMode == AiMediaMode.Twilio ? MediaMode.Twilio : MediaMode.AstraPbxBinary,
                        CallerSampleRate = user.AiSampleRate,
                        AgentUserId = user.Id,
                        OrganizationId = user.OrganizationId,
                    }
                    : Fallback(Reasons.InvalidGatewayUrl, path);

            case RoutingType.Sip:
                if (!DialplanValues.IsExtension(user.Extension))
                {
                    return Fallback(Reasons.InvalidExtension, path);
                }

                return DialplanValues.IsEndpoint(DialplanValues.SipEndpoint(user.Endpoint, user.Extension))
                    ? Continue(DialplanValues.InternalContext(user.ContextPrefix), user.Extension, path, user.OrganizationId)
                    : Fallback(Reasons.InvalidEndpoint, path);

            case RoutingType.Phone:
                return DialplanValues.IsPhoneNumber(user.RoutingDestination)
                    ? Continue(DialplanValues.OutboundContext(user.ContextPrefix), user.RoutingDestination!, path, user.OrganizationId)
                    : Fallback(Reasons.InvalidPhoneNumber, path);

            default:
                return Fallback(Reasons.UnknownRoutingType, path);
        }
    }

    /// <summary>A gateway URL the relay can dial: an absolute <c>ws://</c> or <c>wss://</c> URL with a host.</summary>
    public static bool IsGatewayUrl(string? url) =>
        !string.IsNullOrWhiteSpace(url)
        && Uri.TryCreate(url, UriKind.Absolute, out var uri)
        && (uri.Scheme == "ws" || uri.Scheme == "wss")
        && uri.Host.Length > 0;

    private static RouteDecision Continue(string context, string extension, List<string> path, int organizationId) =>
        new() { Outcome = RouteOutcome.Dialplan, Path = path, Context = context, Extension = extension, OrganizationId = organizationId };

    private static bool TryParseId(string value, out int id) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out id) && id > 0;
}
