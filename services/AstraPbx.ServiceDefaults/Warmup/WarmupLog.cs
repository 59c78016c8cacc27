using Microsoft.Extensions.Logging;

namespace AstraPbx.ServiceDefaults.Warmup;

internal static partial class WarmupLog
{
    [LoggerMessage(9201, LogLevel.Information, "Warm-up finished in {Milliseconds:0} ms: {Steps}")]
    public static partial void Finished(ILogger logger, double milliseconds, string steps);

    [LoggerMessage(9202, LogLevel.Warning, "Warm-up step {Step} failed after {Milliseconds:0} ms; the service starts anyway, its first call may be slow")]
    public static partial void StepFailed(ILogger logger, string step, double milliseconds, Exception exception);

    [LoggerMessage(9203, LogLevel.Warning, "Warm-up not finished after {Seconds:0.###} s (Warmup:Timeout), step {Step} still running; reporting SERVING anyway. Done: {Steps}")]
    public static partial void TimedOut(ILogger logger, double seconds, string step, string steps);

    [LoggerMessage(9204, LogLevel.Information, "Warm-up disabled (Warmup:Enabled=false)")]
    public static partial void Disabled(ILogger logger);
}
