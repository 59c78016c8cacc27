using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using static AstraPbx.Simulators.Ari.AriJson;

namespace AstraPbx.Simulators.Ari;

/// <summary>The simulator's REST side: the ARI subset the ingress uses, and its authentication.</summary>
public sealed partial class AsteriskSimulator
{
    private void MapRoutes(WebApplication app)
    {
        app.MapGet("/ari/asterisk/info", () => Json(w =>
        {
            w.WriteStartObject("build");
            w.WriteString("os", "Linux");
            w.WriteString("kernel", Environment.OSVersion.VersionString);
            w.WriteString("machine", "x86_64");
            w.WriteString("options", "");
            w.WriteString("date", "2026-11-23 00:00:00 UTC");
            w.WriteString("user", "astrapbx");
            w.WriteEndObject();
            w.WriteStartObject("system");
            w.WriteString("version", "22.0.0-astrapbx-simulator");
            w.WriteString("entity_id", Options.AsteriskId);
            w.WriteEndObject();
            w.WriteStartObject("config");
            w.WriteString("name", "");
            w.WriteString("default_language", "en");
            w.WriteStartObject("setid");
            w.WriteString("user", "asterisk");
            w.WriteString("group", "asterisk");
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartObject("status");
            w.WriteString("startup_time", Timestamp(DateTimeOffset.FromUnixTimeSeconds(_epoch)));
            w.WriteString("last_reload_time", Timestamp(DateTimeOffset.FromUnixTimeSeconds(_epoch)));
            w.WriteEndObject();
        }));

        app.MapGet("/ari/applications/{app}", (string app) => Json(w => WriteApplication(w, app)));

        app.MapPost("/ari/applications/{app}/subscription", (string app, string? eventSource) =>
        {
            const string prefix = "channel:";
            if (eventSource is null || !eventSource.StartsWith(prefix, StringComparison.Ordinal))
            {
                return Error(400, "Invalid event source");
            }

            if (!_channels.TryGetValue(eventSource[prefix.Length..], out var call))
            {
                return Error(422, "Event source does not exist");
            }

            lock (call)
            {
                if (call.Application == app)
                {
                    call.Subscribed = true;
                }
            }

            return Json(w => WriteApplication(w, app));
        });

        app.MapGet("/ari/channels/{id}", (string id) =>
            _channels.TryGetValue(id, out var call) ? Json(w => { lock (call) { AriJson.WriteChannel(w, call); } }) : ChannelNotFound());

        app.MapDelete("/ari/channels/{id}", async (string id, string? reason) =>
        {
            if (!_channels.TryGetValue(id, out var call))
            {
                return ChannelNotFound();
            }

            if (call.AudioSocket is { } audio)
            {
                await audio.HangUpAsync().ConfigureAwait(false);
            }

            EndCall(call, HangupCauses.ForReason(reason), SimulatedEndReason.HungUpByAri, softRequest: true);
            return Results.NoContent();
        });

        app.MapPost("/ari/channels/{id}/answer", (string id) => InStasis(id, call =>
        {
            if (call.AnswerReceivedTimestamp == 0)
            {
                call.AnswerReceivedTimestamp = Stopwatch.GetTimestamp();
                call.SetAnswered(DateTimeOffset.UtcNow);
            }

            if (call.State != "Up")
            {
                call.State = "Up";
                Emit(call, "ChannelStateChange");
            }

            return Results.NoContent();
        }));

        app.MapPost("/ari/channels/{id}/variable", (string id, string? variable, string? value) => InStasis(id, call =>
        {
            if (string.IsNullOrEmpty(variable))
            {
                return Error(400, "Variable name is required");
            }

            call.Variables[variable] = value ?? "";
            Emit(call, "ChannelVarset", before: w =>
            {
                w.WriteString("variable", variable);
                w.WriteString("value", value ?? "");
            });
            return Results.NoContent();
        }));

        app.MapGet("/ari/channels/{id}/variable", (string id, string? variable) => InStasis(id, call =>
            variable is not null && call.Variables.TryGetValue(variable, out var value)
                ? Json(w => w.WriteString("value", value))
                : Error(404, "Provided variable was not found")));

        app.MapPost("/ari/channels/{id}/continue", (string id, string? context, string? extension, int? priority) => InStasis(id, call =>
        {
            var target = new DialplanTarget(context ?? call.Context, extension ?? call.Extension, priority ?? 1);
            call.Context = target.Context;
            call.Extension = target.Extension;
            call.Priority = target.Priority;
            Emit(call, "StasisEnd");
            call.InStasis = false;
            Emit(call, "ChannelVarset", before: w =>
            {
                w.WriteString("variable", "STASISSTATUS");
                w.WriteString("value", "SUCCESS");
            });
            call.SetContinued(target);
            if (string.Equals(target.Context, Options.AudioSocketContext, StringComparison.Ordinal))
            {
                lock (_dialplans)
                {
                    _dialplans.RemoveAll(t => t.IsCompleted);
                    _dialplans.Add(Task.Run(() => RunAudioSocketDialplanAsync(call)));
                }
            }
            else if (string.Equals(target.Context, Options.WidebandAudioSocketContext, StringComparison.Ordinal))
            {
                lock (_dialplans)
                {
                    _dialplans.RemoveAll(t => t.IsCompleted);
                    _dialplans.Add(Task.Run(() => RunWidebandDialplanAsync(call)));
                }
            }
            else
            {
                // Some other dialplan (a queue, a phone): the channel stays up until someone hangs up.
                call.AppName = "";
                call.AppData = "";
            }

            return Results.NoContent();
        }));

        app.Map("/ari/events", AcceptEventSocketAsync);
    }

    /// <summary>ARI answers 404 for a gone channel and 409 for one that left Stasis.</summary>
    private IResult InStasis(string id, Func<SimulatedCall, IResult> action)
    {
        if (!_channels.TryGetValue(id, out var call))
        {
            return ChannelNotFound();
        }

        lock (call)
        {
            return call.Destroyed ? ChannelNotFound()
                : !call.InStasis ? Error(409, "Channel not in Stasis application")
                : action(call);
        }
    }

    private async Task AuthenticateAsync(HttpContext context, RequestDelegate next)
    {
        string? presented = null;
        var header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                presented = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
            }
            catch (FormatException)
            {
            }
        }
        else if (context.Request.Query.TryGetValue("api_key", out var key))
        {
            presented = key.ToString();
        }

        if (!string.Equals(presented, _expectedAuth, StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _authFailures);
            context.Response.StatusCode = 401;
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"Asterisk REST Interface\"";
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"message\":\"Authentication required\"}").ConfigureAwait(false);
            return;
        }

        await next(context).ConfigureAwait(false);
    }

    private void WriteApplication(Utf8JsonWriter w, string app)
    {
        w.WriteString("name", app);
        w.WriteStartArray("channel_ids");
        foreach (var call in _channels.Values)
        {
            if (call.Application == app && !call.Destroyed && (call.InStasis || call.Subscribed))
            {
                w.WriteStringValue(call.ChannelId);
            }
        }

        w.WriteEndArray();
        foreach (var empty in new[] { "bridge_ids", "endpoint_ids", "device_names", "events_allowed", "events_disallowed" })
        {
            w.WriteStartArray(empty);
            w.WriteEndArray();
        }
    }
}
