using AstraPbx.Testing;

namespace AstraPbx.MediaRelay.Tests.Support;

/// <summary>Waits for state that has no event to await (frames that crossed a real socket), checking it often:
/// the fake-clock tests wait once per tick, so <c>Eventually</c>'s 100 ms poll would be far too slow.</summary>
public static class Wait
{
    public static Task Until(Func<bool> condition, string description, int timeoutSeconds = 20) =>
        Eventually.Until(() => Task.FromResult(condition()), done => done, TimeSpan.FromSeconds(timeoutSeconds), description, TimeSpan.FromMilliseconds(1));
}
