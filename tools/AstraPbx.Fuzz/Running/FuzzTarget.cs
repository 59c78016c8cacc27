using CsCheck;

namespace AstraPbx.Fuzz.Running;

/// <summary>One thing under fuzz: how its inputs are made and how one input is checked. <see cref="FuzzRunner"/> runs
/// it; input <c>i</c> of a run with seed <c>s</c> is generated from its own PCG state, so any input can be replayed alone.</summary>
public abstract class FuzzTarget
{
    /// <summary>The target's name on the command line and in the report.</summary>
    public abstract string Name { get; }

    /// <summary>The PCG stream of this target's inputs (different targets never share inputs for one seed).</summary>
    internal abstract uint Stream { get; }

    /// <summary>Generates one input from <paramref name="pcg"/> and checks it; returns the outcome's label (counted in the
    /// report). Throws when the input found a crash: an unexpected exception, a broken invariant, a hang.</summary>
    internal abstract string RunOne(PCG pcg);

    /// <summary>Replays the input of CsCheck seed <paramref name="seed"/> and shrinks it (CsCheck's <c>Sample</c>); returns
    /// CsCheck's report of the simplest failing input, or null when the input no longer fails.</summary>
    internal abstract string? Shrink(string seed, TimeSpan time);

    /// <summary>A printable form of the input of <paramref name="pcg"/>, for a failure report.</summary>
    internal abstract string Describe(PCG pcg);
}

/// <summary>A target whose inputs are CsCheck generated values of <typeparamref name="T"/>.</summary>
public abstract class FuzzTarget<T> : FuzzTarget
{
    internal abstract Gen<T> Inputs { get; }

    /// <summary>Checks one input; returns the outcome's label.</summary>
    internal abstract string Check(T input);

    internal virtual string Print(T input) => CsCheck.Check.Print(input);

    internal sealed override string RunOne(PCG pcg) => Check(Inputs.Generate(pcg, null, out _));

    internal sealed override string Describe(PCG pcg) => Print(Inputs.Generate(pcg, null, out _));

    internal sealed override string? Shrink(string seed, TimeSpan time)
    {
        try
        {
            Inputs.Sample(input => { Check(input); }, seed: seed, time: Math.Max(1, (int)time.TotalSeconds), threads: 1, print: Print);
            return null;
        }
        catch (Exception e)
        {
            return e.Message;
        }
    }
}
