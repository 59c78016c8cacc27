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

/// <summary>A step whose call path is cheap to run again (no new queue or connection per pass). After every step ran
/// once, <see cref="WarmupService"/> runs these again in rounds until the runtime stops compiling: the first pass
/// leaves the path in tier-0 (quick, unoptimised) code, and the runtime recompiles a method optimised only after it
/// was called 30 times and a quiet spell of 100 ms (1 s on one CPU) passed; without the rounds that recompilation
/// happens during the first burst of real calls, on their time.</summary>
public interface IRepeatableWarmupStep : IWarmupStep
{
    /// <summary>Runs the step's call path <paramref name="passes"/> times in a row.</summary>
    Task RepeatAsync(int passes, CancellationToken cancellationToken);
}

/// <summary>Helpers for <see cref="IRepeatableWarmupStep"/>s.</summary>
public static class WarmupPasses
{
    /// <summary>Runs <paramref name="pass"/> <paramref name="passes"/> times in a row.</summary>
    public static async Task RunAsync(int passes, Func<CancellationToken, Task> pass, CancellationToken cancellationToken)
    {
        for (var i = 0; i < passes; i++)
        {
            await pass(cancellationToken).ConfigureAwait(false);
        }
    }
}
