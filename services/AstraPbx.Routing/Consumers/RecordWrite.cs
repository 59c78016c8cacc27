using AstraPbx.Routing.Data;
using MassTransit;

namespace AstraPbx.Routing.Consumers;

/// <summary>Runs one record write of a consumer and names each failure caused by the database being unavailable
/// (the definition's retry then tries again later).</summary>
internal static class RecordWrite
{
    /// <summary>The retry while the database is unavailable: 1, 2, 4, 8, 16 s, then 30 s nine times, 14 retries over
    /// 301 s. Long enough for a database restart or fail-over; bounded so that a lasting outage ends in
    /// <c>_error</c> (replayable) rather than in messages held unacknowledged for ever.</summary>
    public static readonly TimeSpan[] RetryIntervals =
        [.. new[] { 1, 2, 4, 8, 16, 30, 30, 30, 30, 30, 30, 30, 30, 30 }.Select(s => TimeSpan.FromSeconds(s))];

    public static async Task RunAsync(ConsumeContext context, ILogger logger, string callId, string @event, Func<Task> write)
    {
        try
        {
            await write();
        }
        catch (Exception e) when (DatabaseFailures.IsTransient(e))
        {
            var retries = RetryIntervals.Length;
            var retry = context.GetRetryAttempt() + 1;
            RoutingLog.RecordDeferred(logger, callId, @event, e.GetType().Name + ": " + e.Message, retry, retries,
                retry > retries ? "to the _error queue now" : "the _error queue after the last");
            throw;
        }
    }
}
