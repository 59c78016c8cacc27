namespace AstraPbx.AriIngress.Ari;

/// <summary>What an ARI REST call came to. Every failure is a value, never an exception.</summary>
public enum AriStatus
{
    /// <summary>2xx.</summary>
    Ok,

    /// <summary>404 (or 422 for a subscription): the channel is gone.</summary>
    NotFound,

    /// <summary>409: the channel is not in Stasis (for example after <c>continue</c> already ran).</summary>
    Conflict,

    /// <summary>401/403: wrong ARI credentials.</summary>
    Unauthorized,

    /// <summary>5xx or any other unexpected status.</summary>
    ServerError,

    /// <summary>No answer: connection refused, reset or timed out.</summary>
    Unreachable,
}

/// <summary>The outcome of one REST call about a channel (or the application when <see cref="ChannelId"/> is empty).</summary>
public readonly record struct AriResult(AriStatus Status, string ChannelId, int HttpStatus, string Message)
{
    public bool IsOk => Status == AriStatus.Ok;

    /// <summary>Worth retrying later: Asterisk did not (or could not) judge the request.</summary>
    public bool IsTransient => Status is AriStatus.ServerError or AriStatus.Unreachable or AriStatus.Unauthorized;

    public override string ToString() => $"{Status} ({HttpStatus}) {Message}";
}

/// <summary>An <see cref="AriResult"/> with the body it returned (default unless <see cref="AriResult.IsOk"/>).</summary>
public readonly record struct AriResult<T>(AriResult Result, T? Value)
{
    public AriStatus Status => Result.Status;

    public bool IsOk => Result.IsOk;
}
