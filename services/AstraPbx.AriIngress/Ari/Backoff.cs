namespace AstraPbx.AriIngress.Ari;

/// <summary>Reconnect delays: exponential from the initial delay, capped, with "equal jitter" (half fixed, half
/// random) so that several ingresses that lost the same Asterisk do not come back in lock-step.</summary>
public static class Backoff
{
    /// <summary>The delay before attempt <paramref name="attempt"/> (1 = the first retry). <paramref name="random"/>
    /// is in [0, 1). The result lies in [d/2, d] with d = min(cap, initial x 2^(attempt-1)).</summary>
    public static TimeSpan Delay(int attempt, TimeSpan initial, TimeSpan cap, double random)
    {
        var exponent = Math.Clamp(attempt - 1, 0, 30);
        var ceiling = Math.Min(cap.TotalMilliseconds, initial.TotalMilliseconds * Math.Pow(2, exponent));
        return TimeSpan.FromMilliseconds(ceiling / 2 + ceiling / 2 * Math.Clamp(random, 0, 1));
    }
}
