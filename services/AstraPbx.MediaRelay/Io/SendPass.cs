namespace AstraPbx.MediaRelay.Io;

/// <summary>A stretch of a playout thread's work whose socket writes are held and sent together when it ends: the
/// tick's caller pass reads every caller of a lane and forwards each frame to its bot, and with the writes held the
/// lane's uplink leaves in one tight run of <c>send</c> calls after the reads instead of one between each pair of them.
/// Where the bot runs on the same machine (loopback, a compose network), the sender's core pays for waking the bot's
/// thread each time it finds it asleep (46-54 us a wake-up on the project's VM, docs/benchmarks.md); a tight run lets it
/// wake once and find several messages. The frames are late by the rest of the pass's reads (microseconds).
/// <para>Thread-static: only writes made on the thread that opened the pass, while it is open, are held (a writer
/// decides with <see cref="IsOpen"/> and joins with <see cref="Enlist"/>); <see cref="End"/> sends them on the same
/// thread.</para></summary>
internal static class SendPass
{
    [ThreadStatic]
    private static bool t_open;

    [ThreadStatic]
    private static List<IHeldWrites>? t_enlisted;

    /// <summary>True while this thread's pass is open: a write may be held for its end.</summary>
    public static bool IsOpen => t_open;

    /// <summary>Opens the pass on this thread.</summary>
    public static void Begin() => t_open = true;

    /// <summary>A writer holding writes for this pass's end; enlists once per pass.</summary>
    public static void Enlist(IHeldWrites writer) => (t_enlisted ??= []).Add(writer);

    /// <summary>Closes the pass and sends every enlisted writer's held bytes, in the order they enlisted. A writer's
    /// failure is its own (kept for its next write); the others still send.</summary>
    public static void End()
    {
        t_open = false;
        var enlisted = t_enlisted;
        if (enlisted is null || enlisted.Count == 0)
        {
            return;
        }

        for (var i = 0; i < enlisted.Count; i++)
        {
            enlisted[i].SendHeld();
        }

        enlisted.Clear();
    }
}

/// <summary>A writer that holds writes for the end of a <see cref="SendPass"/>.</summary>
internal interface IHeldWrites
{
    /// <summary>Sends what was held; never throws (a failure is kept for the writer's next write).</summary>
    void SendHeld();
}
