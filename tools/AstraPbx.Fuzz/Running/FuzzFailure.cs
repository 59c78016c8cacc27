namespace AstraPbx.Fuzz.Running;

/// <summary>An input broke an invariant the target checks (a wrong outcome, not an exception of the code under test).</summary>
public sealed class FuzzFailure(string message) : Exception(message);
