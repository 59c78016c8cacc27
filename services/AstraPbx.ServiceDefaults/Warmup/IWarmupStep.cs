namespace AstraPbx.ServiceDefaults.Warmup;

/// <summary>One synthetic pass through part of a service's call path, run once at start so that the first real call
/// does not pay for JIT compilation, connection setup or statement preparation. A step must have no effect a real call
/// or another service could see: no publishes, no writes that stay, no sockets except loopback ones it opens itself.
/// Registered with <see cref="WarmupExtensions.AddWarmupStep{TStep}"/>; run by <see cref="WarmupService"/>.</summary>
public interface IWarmupStep
{
    /// <summary>A short name for the start log ("ari-json", "resolver").</summary>
    string Name { get; }

    /// <summary>Runs the step. <paramref name="cancellationToken"/> fires at <c>Warmup:Timeout</c> or shutdown.</summary>
    Task RunAsync(CancellationToken cancellationToken);
}
