using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace AstraPbx.AriIngress.Ari;

/// <summary>The ARI REST calls the ingress makes (PROTOCOLS.md section 3). A typed <see cref="HttpClient"/> whose base
/// address is <c>{BaseUrl}/ari/</c> and whose basic-auth header is set once from <see cref="AriOptions"/>, so the
/// password never appears in a URL, a span or a log. Each call runs in an <c>ari &lt;operation&gt;</c> span tagged
/// with the call id, and returns an <see cref="AriResult"/> instead of throwing.</summary>
public sealed class AriClient(HttpClient http)
{
    /// <summary>Carries the call id to the HttpClient span's enrichment (see ApplicationServiceExtensions).</summary>
    public static readonly HttpRequestOptionsKey<string> CallIdOption = new(AriIngressTelemetry.CallIdTag);

    public Task<AriResult> AnswerAsync(string channelId, CancellationToken cancellationToken) =>
        SendAsync("answer", HttpMethod.Post, $"channels/{Escape(channelId)}/answer", channelId, cancellationToken);

    public Task<AriResult> SetVariableAsync(string channelId, string name, string value, CancellationToken cancellationToken) =>
        SendAsync("set-variable", HttpMethod.Post,
            $"channels/{Escape(channelId)}/variable?variable={Escape(name)}&value={Escape(value)}", channelId, cancellationToken);

    /// <summary>The variable's value; Ok with a null value when the channel has no such variable.</summary>
    public async Task<AriResult<string?>> GetVariableAsync(string channelId, string name, CancellationToken cancellationToken)
    {
        var (result, body) = await SendCoreAsync("get-variable", HttpMethod.Get,
            $"channels/{Escape(channelId)}/variable?variable={Escape(name)}", channelId, cancellationToken).ConfigureAwait(false);
        if (result.Status == AriStatus.NotFound && result.Message.Contains("variable", StringComparison.OrdinalIgnoreCase))
        {
            // 404 {"message":"Provided variable was not found"}: the channel exists, the variable does not.
            return new(result with { Status = AriStatus.Ok }, null);
        }

        return new(result, result.IsOk ? Deserialize(body, AriJsonContext.Default.AriVariable)?.Value : null);
    }

    public Task<AriResult> ContinueAsync(string channelId, string context, string extension, int priority, CancellationToken cancellationToken) =>
        SendAsync("continue", HttpMethod.Post,
            $"channels/{Escape(channelId)}/continue?context={Escape(context)}&extension={Escape(extension)}&priority={priority}",
            channelId, cancellationToken);

    public Task<AriResult> HangupAsync(string channelId, string reason, CancellationToken cancellationToken) =>
        SendAsync("hangup", HttpMethod.Delete, $"channels/{Escape(channelId)}?reason={Escape(reason)}", channelId, cancellationToken);

    /// <summary>Subscribes the application to the channel, so its events keep coming after it leaves Stasis.</summary>
    public async Task<AriResult> SubscribeAsync(string application, string channelId, CancellationToken cancellationToken)
    {
        var (result, _) = await SendCoreAsync("subscribe", HttpMethod.Post,
            $"applications/{Escape(application)}/subscription?eventSource={Escape("channel:" + channelId)}", channelId, cancellationToken).ConfigureAwait(false);

        // Asterisk answers 422 "Event source does not exist" for a channel that is gone.
        return result.HttpStatus == 422 ? result with { Status = AriStatus.NotFound } : result;
    }

    public async Task<AriResult<AriChannel>> GetChannelAsync(string channelId, CancellationToken cancellationToken)
    {
        var (result, body) = await SendCoreAsync("get-channel", HttpMethod.Get, $"channels/{Escape(channelId)}", channelId, cancellationToken).ConfigureAwait(false);
        return new(result, result.IsOk ? Deserialize(body, AriJsonContext.Default.AriChannel) : null);
    }

    public async Task<AriResult<AriApplication>> GetApplicationAsync(string application, CancellationToken cancellationToken)
    {
        var (result, body) = await SendCoreAsync("get-application", HttpMethod.Get, $"applications/{Escape(application)}", "", cancellationToken).ConfigureAwait(false);
        return new(result, result.IsOk ? Deserialize(body, AriJsonContext.Default.AriApplication) : null);
    }

    public async Task<AriResult<AsteriskInfo>> GetAsteriskInfoAsync(CancellationToken cancellationToken)
    {
        var (result, body) = await SendCoreAsync("asterisk-info", HttpMethod.Get, "asterisk/info", "", cancellationToken).ConfigureAwait(false);
        return new(result, result.IsOk ? Deserialize(body, AriJsonContext.Default.AsteriskInfo) : null);
    }

    private async Task<AriResult> SendAsync(string operation, HttpMethod method, string path, string channelId, CancellationToken cancellationToken) =>
        (await SendCoreAsync(operation, method, path, channelId, cancellationToken).ConfigureAwait(false)).Result;

    private async Task<(AriResult Result, byte[] Body)> SendCoreAsync(string operation, HttpMethod method, string path, string channelId, CancellationToken cancellationToken)
    {
        using var activity = AriIngressTelemetry.Source.StartActivity("ari " + operation, ActivityKind.Internal);
        if (activity is not null)
        {
            activity.SetTag("ari.operation", operation);
            if (channelId.Length > 0)
            {
                activity.SetTag(AriIngressTelemetry.CallIdTag, channelId);
            }
        }

        using var request = new HttpRequestMessage(method, path);
        if (channelId.Length > 0)
        {
            request.Options.Set(CallIdOption, channelId);
        }

        AriResult result;
        byte[] body = [];
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
            body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            var status = Classify(response.StatusCode);
            result = new AriResult(status, channelId, (int)response.StatusCode, status == AriStatus.Ok ? "" : ErrorMessage(body));
        }
        catch (HttpRequestException e)
        {
            // The message names host and port at most; credentials live only in a header.
            result = new AriResult(AriStatus.Unreachable, channelId, 0, e.Message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            result = new AriResult(AriStatus.Unreachable, channelId, 0, "request timed out");
        }

        if (activity is not null)
        {
            activity.SetTag("ari.status", result.Status.ToString());
            if (!result.IsOk)
            {
                activity.SetStatus(ActivityStatusCode.Error, result.Status.ToString());
            }
        }

        return (result, body);
    }

    private static AriStatus Classify(HttpStatusCode code) => (int)code switch
    {
        >= 200 and < 300 => AriStatus.Ok,
        404 or 422 => AriStatus.NotFound,
        409 => AriStatus.Conflict,
        401 or 403 => AriStatus.Unauthorized,
        _ => AriStatus.ServerError,
    };

    private static string ErrorMessage(byte[] body)
    {
        if (body.Length == 0)
        {
            return "";
        }

        try
        {
            return JsonSerializer.Deserialize(body, AriJsonContext.Default.AriError)?.Message ?? "";
        }
        catch (JsonException)
        {
            return "(unreadable error body)";
        }
    }

    private static T? Deserialize<T>(byte[] body, JsonTypeInfo<T> type) where T : class
    {
        try
        {
            return body.Length == 0 ? null : JsonSerializer.Deserialize(body, type);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Escape(string value) => Uri.EscapeDataString(value);
}
