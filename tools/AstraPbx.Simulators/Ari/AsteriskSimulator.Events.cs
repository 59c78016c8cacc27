using System.Text;
using System.Text.Json;
using AstraPbx.Simulators.Hosting;
using Microsoft.AspNetCore.Http;

namespace AstraPbx.Simulators.Ari;

/// <summary>The simulator's events side: the channel events it emits, and the <c>/ari/events</c> sockets that carry them.</summary>
public sealed partial class AsteriskSimulator
{
    /// <summary>AST_SOFTHANGUP_EXPLICIT: what a soft <c>ChannelHangupRequest</c> carries in <c>cause</c>.</summary>
    private const int SoftHangupFlag = 32;

    /// <summary>Hangs the channel up once: <c>ChannelHangupRequest</c>, <c>StasisEnd</c> when in Stasis, <c>ChannelDestroyed</c>.
    /// A <paramref name="softRequest"/> (our own <c>DELETE</c>) is announced as Asterisk does: <c>ChannelHangupRequest</c>
    /// with <c>{"cause":32,"soft":true}</c>, 32 being its soft-hangup flag; the Q.850 cause is in <c>ChannelDestroyed</c>.</summary>
    internal void EndCall(SimulatedCall call, int cause, SimulatedEndReason reason, bool softRequest = false)
    {
        var text = HangupCauses.Text(cause);
        lock (call)
        {
            if (call.Destroyed)
            {
                return;
            }

            var wasInStasis = call.InStasis;
            Emit(call, "ChannelHangupRequest", before: w =>
            {
                w.WriteNumber("cause", softRequest ? SoftHangupFlag : cause);
                if (softRequest)
                {
                    w.WriteBoolean("soft", true);
                }
            });
            if (call.InStasis)
            {
                Emit(call, "StasisEnd");
            }

            call.AppName = "";
            call.AppData = "";
            Emit(call, "ChannelDestroyed", after: w =>
            {
                w.WriteNumber("cause", cause);
                w.WriteString("cause_txt", text);
            }, force: wasInStasis);
            call.InStasis = false;
            call.Subscribed = false;
            call.Destroyed = true;
            _channels.TryRemove(call.ChannelId, out _);
        }

        call.SetEnded(new SimulatedCallEnd(cause, text, reason));
    }

    /// <summary><c>StasisStart</c> with the comma-separated <paramref name="stasisArgs"/> (caller holds <c>lock(call)</c>).</summary>
    private bool EmitStasisStart(SimulatedCall call, string stasisArgs)
    {
        var args = stasisArgs.Length == 0 ? [] : stasisArgs.Split(',');
        return Emit(call, "StasisStart", after: w =>
        {
            w.WriteStartArray("args");
            foreach (var arg in args)
            {
                w.WriteStringValue(arg);
            }

            w.WriteEndArray();
        });
    }

    internal void EmitDtmf(SimulatedCall call, char digit)
    {
        lock (call)
        {
            if (!call.Destroyed)
            {
                Emit(call, "ChannelDtmfReceived", before: w =>
                {
                    w.WriteString("digit", digit.ToString());
                    w.WriteNumber("duration_ms", 100);
                });
            }
        }
    }

    /// <summary>Writes one event for <paramref name="call"/> (caller holds <c>lock(call)</c>) and queues it on the
    /// application's sockets when Asterisk would deliver it: the channel is in Stasis or subscribed.</summary>
    private bool Emit(SimulatedCall call, string type, Action<Utf8JsonWriter>? before = null, Action<Utf8JsonWriter>? after = null, bool force = false)
    {
        var bytes = SimulatorJson.Object(w =>
        {
            before?.Invoke(w);
            w.WriteString("type", type);
            w.WriteString("timestamp", AriJson.Timestamp(DateTimeOffset.UtcNow));
            after?.Invoke(w);
            w.WriteStartObject("channel");
            AriJson.WriteChannel(w, call);
            w.WriteEndObject();
            w.WriteString("asterisk_id", Options.AsteriskId);
            w.WriteString("application", call.Application);
        }, 1024).WrittenSpan.ToArray();
        var delivered = false;
        if (force || call.InStasis || call.Subscribed)
        {
            lock (_sockets)
            {
                foreach (var socket in _sockets)
                {
                    if (socket.Application == call.Application)
                    {
                        socket.Enqueue(bytes);
                        delivered = true;
                    }
                }
            }
        }

        call.Record(new SimulatedEvent(type, Encoding.UTF8.GetString(bytes), delivered));
        return delivered;
    }

    private async Task AcceptEventSocketAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = 400;
            return;
        }

        if (_paused)
        {
            context.Response.StatusCode = 503;
            return;
        }

        var application = context.Request.Query["app"].ToString();
        if (application.Length == 0)
        {
            context.Response.StatusCode = 400;
            return;
        }

        using var webSocket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        var socket = new EventSocket(webSocket, application);
        TaskCompletionSource connected;
        lock (_sockets)
        {
            _sockets.Add(socket);
            _connections++;
            connected = _socketConnected;
            _socketConnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        connected.TrySetResult();
        try
        {
            await socket.RunAsync(context.RequestAborted).ConfigureAwait(false);
        }
        finally
        {
            lock (_sockets)
            {
                _sockets.Remove(socket);
            }
        }
    }
}
