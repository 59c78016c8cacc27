using AstraPbx.AriIngress.Ari;
using AstraPbx.Contracts.Calls;
using Microsoft.Extensions.Options;

namespace AstraPbx.AriIngress.Calls;

/// <summary>Routing's three commands, carried out on the channel in the call's queue of work. Each is idempotent (a
/// redelivered command that already ran does nothing) and settles ARI's answers the same way
/// (<see cref="SettleAsync"/>).</summary>
internal sealed class CallCommands(AriClient ari, CallTable calls, CallEndPublisher ending, AriConnection connection, IOptions<AriOptions> options,
    ILogger<CallCommands> logger)
{
    private const string RelayUuidVariable = "AUDIOSOCKET_UUID";
    private const string RelayServiceVariable = "AUDIOSOCKET_SERVICE";

    private readonly AriOptions _options = options.Value;

    /// <summary>Sets <c>AUDIOSOCKET_UUID</c> and <c>AUDIOSOCKET_SERVICE</c> (before <c>continue</c>: afterwards they
    /// fail with 409), subscribes to the channel so its real hangup is seen, and continues it into the AudioSocket context.</summary>
    public Task ConnectToRelayAsync(ConnectToRelay command, CancellationToken cancellationToken)
    {
        var call = ForCommand(command.CallId, command.AsteriskId);
        return CallTable.Enqueue(call, async () =>
        {
            const string name = nameof(ConnectToRelay);
            if (call.Ended || call.RelaySession == command.SessionId)
            {
                logger.CommandAlreadyDone(call.CallId, name, call.Ended ? "call ended" : "session " + command.SessionId);
                return;
            }

            var context = string.IsNullOrWhiteSpace(command.Context) ? _options.AudioSocketContext : command.Context;
            if (!await SettleAsync(call, name, await ari.SetVariableAsync(call.CallId, RelayUuidVariable, command.SessionId.ToString(), cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false)
                || !await SettleAsync(call, name, await ari.SetVariableAsync(call.CallId, RelayServiceVariable, command.RelayEndpoint, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false)
                || !await SubscribeAsync(call, name, cancellationToken).ConfigureAwait(false)
                || !await SettleAsync(call, name, await ari.ContinueAsync(call.CallId, context, "s", 1, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            call.RelaySession = command.SessionId;
            call.ContinuedTo = context + ",s,1";
            call.InStasis = false;
            logger.ConnectedToRelay(call.CallId, command.RelayEndpoint, command.SessionId, context);
        });
    }

    /// <summary>Continues the channel in the dialplan, subscribed first so that its hangup still becomes CallEnded.</summary>
    public Task ContinueInDialplanAsync(ContinueInDialplan command, CancellationToken cancellationToken)
    {
        var call = ForCommand(command.CallId, command.AsteriskId);
        return CallTable.Enqueue(call, async () =>
        {
            const string name = nameof(ContinueInDialplan);
            var target = $"{command.Context},{command.Extension},{command.Priority}";
            if (call.Ended || call.ContinuedTo == target)
            {
                logger.CommandAlreadyDone(call.CallId, name, call.Ended ? "call ended" : target);
                return;
            }

            if (!await SubscribeAsync(call, name, cancellationToken).ConfigureAwait(false)
                || !await SettleAsync(call, name, await ari.ContinueAsync(call.CallId, command.Context, command.Extension, command.Priority, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            call.ContinuedTo = target;
            call.InStasis = false;
            logger.ContinuedInDialplan(call.CallId, command.Context, command.Extension, command.Priority, command.Reason);
        });
    }

    /// <summary>Hangs the channel up; its hangup events then publish CallEnded. A channel already gone is ended here.</summary>
    public Task HangupAsync(HangupCall command, CancellationToken cancellationToken)
    {
        var call = ForCommand(command.CallId, command.AsteriskId);
        return CallTable.Enqueue(call, async () =>
        {
            if (call.Ended)
            {
                logger.CommandAlreadyDone(call.CallId, nameof(HangupCall), "call ended");
                return;
            }

            var reason = string.IsNullOrWhiteSpace(command.Reason) ? "normal" : command.Reason;
            if (await SettleAsync(call, nameof(HangupCall), await ari.HangupAsync(call.CallId, reason, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false))
            {
                logger.HungUp(call.CallId, reason);
            }
        });
    }

    private async Task<bool> SubscribeAsync(CallState call, string command, CancellationToken cancellationToken)
    {
        if (call.Subscribed)
        {
            return true;
        }

        var result = await ari.SubscribeAsync(_options.Application, call.CallId, cancellationToken).ConfigureAwait(false);
        if (!await SettleAsync(call, command, result, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        call.Subscribed = true;
        return true;
    }

    /// <summary>True to go on. A gone channel becomes CallEnded; 409 means a redelivered command whose <c>continue</c>
    /// already ran (the channel left Stasis); transient failures throw so that the consumer's retry runs.</summary>
    private async Task<bool> SettleAsync(CallState call, string command, AriResult result, CancellationToken cancellationToken)
    {
        switch (result.Status)
        {
            case AriStatus.Ok:
                return true;
            case AriStatus.NotFound:
                logger.ChannelGone(call.CallId, command);
                call.KnownDownstream = true;
                await ending.EndAsync(call, 0, "channel gone", command, cancellationToken).ConfigureAwait(false);
                return false;
            case AriStatus.Conflict:
                call.InStasis = false;
                logger.CommandAlreadyDone(call.CallId, command, "channel not in Stasis");
                return false;
            default:
                logger.CommandFailed(call.CallId, command, result);
                throw new AriUnavailableException(command, result);
        }
    }

    private CallState ForCommand(string callId, string asteriskId)
    {
        calls.Prune();
        var own = connection.AsteriskId ?? "";
        if (own.Length > 0 && !string.Equals(asteriskId, own, StringComparison.Ordinal))
        {
            logger.WrongAsterisk(callId, asteriskId, own);
        }

        return calls.GetOrAdd(callId);
    }
}
