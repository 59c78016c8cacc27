using System.ComponentModel.DataAnnotations;

namespace AstraPbx.ServiceDefaults.Warmup;

/// <summary>The warm-up at start (<see cref="WarmupService"/>). Section <c>Warmup</c>.</summary>
public sealed class WarmupOptions
{
    public const string SectionName = "Warmup";

    /// <summary>Run the service's warm-up steps at start and report NOT_SERVING until they finish. Off: SERVING as soon
    /// as the other health checks pass, and the first call pays for JIT.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The warm-up gets this long; after it the service reports SERVING anyway (with a warning): a warm-up that
    /// hangs must never keep a service down.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00", ErrorMessage = "Warmup:Timeout must be 10 ms - 10 min.")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>After the first pass, rounds of the repeatable steps (<see cref="IRepeatableWarmupStep"/>) until
    /// <see cref="SettleQuietRounds"/> rounds in a row compiled fewer than <see cref="SettleQuietMethods"/> methods: at
    /// most this many (0: no rounds, the first pass only).</summary>
    [Range(0, 50, ErrorMessage = "Warmup:SettleRounds must be 0-50.")]
    public int SettleRounds { get; set; } = 8;

    /// <summary>Passes of each repeatable step per round: above the runtime's 30 calls before a method is recompiled.</summary>
    [Range(1, 1000, ErrorMessage = "Warmup:SettlePasses must be 1-1000.")]
    public int SettlePasses { get; set; } = 35;

    /// <summary>Wait after each round's passes, for the runtime's quiet spell and its background recompilation; null:
    /// 1.2 s on one CPU (the runtime waits ten times longer there), 300 ms otherwise.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10", ErrorMessage = "Warmup:SettlePause must be 0-10 s.")]
    public TimeSpan? SettlePause { get; set; }

    /// <summary>A round that compiled fewer methods than this is quiet.</summary>
    [Range(0, 100000, ErrorMessage = "Warmup:SettleQuietMethods must be 0-100000.")]
    public int SettleQuietMethods { get; set; } = 10;

    /// <summary>Quiet rounds in a row that end the rounds: the path is settled. One is not enough: the runtime holds its
    /// recompilation back while other code is compiled for the first time, so a round can be quiet before a busy one.</summary>
    [Range(1, 10, ErrorMessage = "Warmup:SettleQuietRounds must be 1-10.")]
    public int SettleQuietRounds { get; set; } = 2;

    /// <summary>No round after the first starts once the rounds have run this long (in use: at most half of
    /// <see cref="Timeout"/>, <see cref="EffectiveSettleBudget"/>). The rounds only make the first calls faster; a
    /// process that is still recompiling when the budget is spent reports SERVING with "not settled", well before the
    /// timeout that is there for a step that hangs (measured: Routing compiles 500-2,000 methods a round for 8 rounds,
    /// 8-9 s on a quiet machine, more than 20 s on a loaded one).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", ErrorMessage = "Warmup:SettleBudget must be 0-10 min.")]
    public TimeSpan SettleBudget { get; set; } = TimeSpan.FromSeconds(8);

    /// <summary>The rounds' budget in use: <see cref="SettleBudget"/>, at most half of <see cref="Timeout"/>.</summary>
    public TimeSpan EffectiveSettleBudget => SettleBudget < Timeout / 2 ? SettleBudget : Timeout / 2;

    /// <summary>The pause in use: <see cref="SettlePause"/>, or the default for this process's CPUs.</summary>
    public TimeSpan EffectiveSettlePause =>
        SettlePause ?? (Environment.ProcessorCount == 1 ? TimeSpan.FromMilliseconds(1200) : TimeSpan.FromMilliseconds(300));
}
