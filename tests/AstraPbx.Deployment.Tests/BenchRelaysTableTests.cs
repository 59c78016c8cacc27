namespace AstraPbx.Deployment.Tests;

/// <summary><c>scripts/bench-relays-table</c>, the report printed at the end of a half-hour <c>scripts/bench-relays</c> run,
/// on a summary file of known figures: each run's ratio to the peer in its own round, and per N the median, lowest and
/// highest ratio, the rounds at or under 0.7x and the rounds pooled (our CPU summed over the peer's). A slip there would
/// only show after the benchmark had run.</summary>
public sealed class BenchRelaysTableTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("astrapbx-table-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Each_round_is_compared_with_its_own_peer_run_and_each_N_gets_its_median()
    {
        // N=100: ours over the peer 0.5, 0.9, 0.6 and 0.8 (median 0.7; pooled 0.47 / 0.70 = 0.671); N=250: 0.75 in its
        // one round; a failed run.
        var summary = string.Join('\n',
            Run("astrapbx", 100, 1, 0.1000), Run("node-peer", 100, 1, 0.2000),
            Run("astrapbx", 250, 1, 0.1500), Run("node-peer", 250, 1, 0.2000),
            Run("node-peer", 100, 2, 0.1000), Run("astrapbx", 100, 2, 0.0900),
            Run("astrapbx", 100, 3, 0.1200), Run("node-peer", 100, 3, 0.2000),
            Run("node-peer", 100, 4, 0.2000), Run("astrapbx", 100, 4, 0.1600),
            "summary: relay=node-peer calls=250 failed=1 round=2 n=250") + "\n";
        var file = Path.Combine(_folder, "summary");
        await File.WriteAllTextAsync(file, summary);

        var result = await Tools.RunAsync("bash", [Repo.PathOf("scripts/bench-relays-table"), file], Repo.Root, TimeSpan.FromSeconds(30));

        Assert.True(result.ExitCode == 0, result.Error);
        var lines = result.Output.Split('\n');
        Assert.Contains("| 1 | 100 | astrapbx | 0.1000 | 0.50 | 0 (0) | 0 | 21.00 | 3.00 | 20.0 | 5000 |", lines);
        Assert.Contains("| 2 | 100 | astrapbx | 0.0900 | 0.90 | 0 (0) | 0 | 21.00 | 3.00 | 20.0 | 5000 |", lines);
        Assert.Contains("| 2 | 250 | node-peer | failed (see its log) | | | | | | | |", lines);
        Assert.Contains("| 100 | 4 | 0.700 | 0.500 | 0.900 | 2 of 4 | 0.671 |", lines);
        Assert.Contains("| 250 | 1 | 0.750 | 0.750 | 0.750 | 0 of 1 | 0.750 |", lines);
    }

    [Fact]
    public async Task Several_summaries_pool_into_one_report_with_their_rounds_told_apart()
    {
        // Two bench-relays runs of one build, each with its own round 1: 0.5 and 0.8 at N=100. Pooled 0.18 / 0.30 = 0.6:
        // each round weighed by its CPU, where the median is 0.65. Before them, the empty summary of a run that measured
        // nothing: the files keep the numbers of their places.
        var empty = Path.Combine(_folder, "empty");
        await File.WriteAllTextAsync(empty, "");
        var first = Path.Combine(_folder, "first");
        var second = Path.Combine(_folder, "second");
        await File.WriteAllTextAsync(first, Run("astrapbx", 100, 1, 0.1000) + "\n" + Run("node-peer", 100, 1, 0.2000) + "\n");
        await File.WriteAllTextAsync(second, Run("node-peer", 100, 1, 0.1000) + "\n" + Run("astrapbx", 100, 1, 0.0800) + "\n");

        var result = await Tools.RunAsync("bash", [Repo.PathOf("scripts/bench-relays-table"), empty, first, second], Repo.Root, TimeSpan.FromSeconds(30));

        Assert.True(result.ExitCode == 0, result.Error);
        var lines = result.Output.Split('\n');
        Assert.Contains("| 2.1 | 100 | astrapbx | 0.1000 | 0.50 | 0 (0) | 0 | 21.00 | 3.00 | 20.0 | 5000 |", lines);
        Assert.Contains("| 3.1 | 100 | astrapbx | 0.0800 | 0.80 | 0 (0) | 0 | 21.00 | 3.00 | 20.0 | 5000 |", lines);
        Assert.Contains("| 100 | 2 | 0.650 | 0.500 | 0.800 | 1 of 2 | 0.600 |", lines);
    }

    [Fact]
    public async Task Without_a_readable_summary_it_says_how_it_is_used()
    {
        var result = await Tools.RunAsync("bash", [Repo.PathOf("scripts/bench-relays-table"), Path.Combine(_folder, "missing")], Repo.Root,
            TimeSpan.FromSeconds(30));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("usage:", result.Error, StringComparison.Ordinal);
    }

    private static string Run(string relay, int calls, int round, double cpu) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"summary: relay={relay} offered={calls} refused=0 calls={calls} cpu_per_call_minute={cpu:0.0000} lost=0 lost_before_first_echo=0 trimmed=0 "
        + $"trimmed_for_skipped_ticks=0 late_tick_pct=0.10 spacing_p99_ms=21.00 added_rtt_p99_ms=3.00 beyond_intended_p99_ms=0.50 "
        + $"rss_kib_per_session=20.0 tool_wakeups_per_s=5000 round={round} n={calls}");
}
