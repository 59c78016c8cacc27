namespace AstraPbx.Fuzz.Running;

/// <summary>How long a target's run may go and how it runs.</summary>
/// <param name="Inputs">Inputs to check (the run stops earlier at <paramref name="Time"/>).</param>
/// <param name="Time">The run's time limit.</param>
/// <param name="Seed">The run's seed: input <c>i</c> is generated from (seed, i) alone.</param>
/// <param name="Threads">Worker threads.</param>
/// <param name="InputTimeout">One input running longer than this is a hang (a crash).</param>
/// <param name="MaxCrashes">The run stops after this many crashes.</param>
/// <param name="ShrinkTime">Time CsCheck may spend shrinking the first crash's input (zero: no shrinking).</param>
public sealed record FuzzRunSettings(long Inputs, TimeSpan Time, ulong Seed, int Threads, TimeSpan InputTimeout, int MaxCrashes = 5,
    TimeSpan ShrinkTime = default);
