namespace AstraPbx.Fuzz.Running;

/// <summary>One crash: the input that found it (its index and CsCheck seed replay it alone), what happened, and the
/// shrunk input when shrinking ran.</summary>
public sealed record FuzzCrash(long Index, string Seed, string Kind, string Detail, string Input)
{
    public string? Shrunk { get; init; }
}

/// <summary>What a target's run did: inputs checked, time, crashes, and how often each outcome occurred.</summary>
public sealed record FuzzResult(string Target, ulong Seed, long Inputs, TimeSpan Elapsed, IReadOnlyList<FuzzCrash> Crashes,
    IReadOnlyDictionary<string, long> Outcomes);
