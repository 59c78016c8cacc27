using System.Globalization;
using AstraPbx.Simulators.AudioSocket;

namespace AstraPbx.Simulators.Ari;

/// <summary>The dialplan the product ships, as the simulator runs it after <c>continue</c> into the AudioSocket context.</summary>
public sealed partial class AsteriskSimulator
{
    /// <summary>[audiosocket-ai]: NoOp, Answer, AudioSocket(${AUDIOSOCKET_UUID},${AUDIOSOCKET_SERVICE}), Hangup().</summary>
    private async Task RunAudioSocketDialplanAsync(SimulatedCall call)
    {
        call.Variables.TryGetValue("AUDIOSOCKET_UUID", out var uuid);
        call.Variables.TryGetValue("AUDIOSOCKET_SERVICE", out var service);
        Step(call, 1, "NoOp", $"AudioSocket AI Agent: UUID={uuid} Service={service}");
        Step(call, 2, "Answer", "");
        Step(call, 3, "AudioSocket", $"{uuid},{service}");

        AudioSocketCaller caller;
        try
        {
            if (!Guid.TryParse(uuid, out var sessionId) || service is null || service.LastIndexOf(':') is var colon && colon <= 0
                || !int.TryParse(service.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port))
            {
                throw new FormatException($"AudioSocket needs a UUID and host:port, got '{uuid}' and '{service}'");
            }

            var source = Options.AudioSource?.Invoke(call) ?? new ToneSource();
            caller = await AudioSocketCaller.DialAsync(service[..colon], port, sessionId, source).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FormatException or System.Net.Sockets.SocketException or OperationCanceledException or IOException)
        {
            call.SetAudioSocketFailed(e);
            EndCall(call, 16, SimulatedEndReason.AudioSocketFailed);
            return;
        }

        lock (call)
        {
            if (call.Destroyed)
            {
                _ = caller.HangUpAsync();
                return;
            }

            call.SetAudioSocket(caller);
        }

        var how = await caller.Ended.ConfigureAwait(false);
        switch (how)
        {
            case CallerEnd.CallerHungUp:
                return;
            case CallerEnd.RelayHungUp:
                Step(call, 4, "Hangup", "");
                EndCall(call, 16, SimulatedEndReason.RelayHungUp);
                return;
            case CallerEnd.RejectedFrame:
                EndCall(call, 16, SimulatedEndReason.RelayRejected);
                return;
            default:
                EndCall(call, 16, SimulatedEndReason.RelayClosed);
                return;
        }
    }

    private void Step(SimulatedCall call, int priority, string app, string data)
    {
        lock (call)
        {
            if (call.Destroyed)
            {
                return;
            }

            call.Priority = priority;
            call.AppName = app;
            call.AppData = data;
            Emit(call, "ChannelDialplan", after: w =>
            {
                w.WriteString("dialplan_app", app);
                w.WriteString("dialplan_app_data", data);
            });
        }
    }
}
