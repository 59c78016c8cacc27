using System.Security.Cryptography;

namespace AstraPbx.Routing.Orchestration;

/// <summary>This Routing instance's name on the claims it holds (<c>routing_decisions.claimed_by</c>): host name,
/// process id and a random suffix, made once per host (a restarted process, or a second host in one process, is a
/// new instance, so it never mistakes a dead instance's claim for its own).</summary>
public sealed class RoutingInstance
{
    public string Id { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";
}
