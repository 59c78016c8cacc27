using System.Collections.Concurrent;
using MassTransit;

namespace AstraPbx.ServiceDefaults.Health;

/// <summary>Receive endpoints a service stopped on purpose (a relay with no room stops <c>start-ai-session</c>): the bus
/// reports itself Degraded while one is stopped, and <see cref="BusHealthCheck"/> must not turn that into NOT_SERVING
/// (a full relay would leave its ready endpoints and its live calls would look like a failed pod).</summary>
public sealed class PausedEndpoints
{
    private readonly ConcurrentDictionary<string, string> _paused = new(StringComparer.Ordinal);

    /// <summary>Marks the endpoint (queue name) paused, before it is stopped.</summary>
    public void Pause(string endpoint, string why) => _paused[endpoint] = why;

    /// <summary>Clears the mark, once the endpoint runs again.</summary>
    public void Resume(string endpoint) => _paused.TryRemove(endpoint, out _);

    /// <summary>True when every endpoint the bus does not report healthy is one paused on purpose; names them and why.</summary>
    internal bool ExplainDegraded(BusHealthResult health, out string explained)
    {
        var reasons = new List<string>();
        foreach (var (key, endpoint) in health.Endpoints)
        {
            if (endpoint.Status == BusHealthStatus.Healthy)
            {
                continue;
            }

            var name = _paused.ContainsKey(key) ? key : endpoint.InputAddress?.AbsolutePath.Trim('/').Split('/')[^1];
            if (name is null || !_paused.TryGetValue(name, out var why))
            {
                explained = "";
                return false;
            }

            reasons.Add($"{name} ({why})");
        }

        explained = string.Join(", ", reasons);
        return reasons.Count > 0;
    }
}
