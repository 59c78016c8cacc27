using AstraPbx.Routing.Data;

namespace AstraPbx.Routing.Orchestration;

/// <summary>Runs the database round trips of a decision: each within the budget's timeout, a transient failure
/// retried once after <see cref="RetryDelay"/> when the budget allows, then <see cref="DatabaseUnavailableException"/>
/// so that the caller is sent to the fallback at once instead of waiting for the database.</summary>
public sealed class DatabaseGuard(TimeProvider time, ILogger<DatabaseGuard> logger)
{
    /// <summary>One quick retry rides out a dropped pooled connection or a server restarting; a longer wait would
    /// only keep the caller in silence.</summary>
    public static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(200);

    /// <param name="plannedWait">Time the call spends waiting on purpose between its round trips (an <c>ai_ended</c>
    /// entry waiting for the relay's ending, <see cref="Resolution.RouteResolver.PlannedWait"/>): added to its timeout,
    /// so that the wait is not taken for a database that does not answer.</param>
    public async Task<T> RunAsync<T>(string callId, string step, DecisionBudget budget, Func<CancellationToken, Task<T>> call, CancellationToken token, TimeSpan plannedWait = default)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
            var task = call(timeout.Token);
            try
            {
                // WaitAsync rather than only the token: a cancelled command may still wait for the server's answer
                // to the cancel request, and a silent server never gives it.
                return await task.WaitAsync(budget.NextDatabaseCall() + plannedWait, time, token);
            }
            catch (Exception e) when (!token.IsCancellationRequested && DatabaseFailures.IsTransient(e))
            {
                await timeout.CancelAsync();
                _ = task.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                var retry = attempt == 1 && budget.AllowsRetry(RetryDelay);
                RoutingLog.DatabaseCallFailed(logger, callId, step, attempt, Describe(e), retry);
                if (!retry)
                {
                    throw new DatabaseUnavailableException(step, e);
                }

                await Task.Delay(RetryDelay, time, token);
            }
        }
    }

    /// <summary>The error for the log: the type and Npgsql's message (which names the host and port, never the
    /// password).</summary>
    private static string Describe(Exception e) => e is TimeoutException ? "no answer within the timeout" : e.GetType().Name + ": " + e.Message;
}
