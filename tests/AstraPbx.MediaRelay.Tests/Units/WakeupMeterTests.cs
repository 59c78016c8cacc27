using AstraPbx.LoadTool;
using Xunit;

namespace AstraPbx.MediaRelay.Tests.Units;

/// <summary>The load tool's count of cross-core wake-ups into its own core, read from <c>/proc/interrupts</c>.</summary>
public sealed class WakeupMeterTests
{
    private const string TwoCores = """
                   CPU0       CPU1
          0:         41          0   IO-APIC    2-edge      timer
        LOC:   12522330    8386823   Local timer interrupts
        RES:   20233134    2699700   Rescheduling interrupts
        CAL:    4292245    4902187   Function call interrupts
        TLB:          0          0   TLB shootdowns
        ERR:          0
        """;

    [Theory]
    [InlineData(0, 20233134L + 4292245L)]
    [InlineData(1, 2699700L + 4902187L)]
    public void Rescheduling_and_function_call_interrupts_of_the_core_are_added(int core, long expected)
    {
        Assert.Equal(expected, WakeupMeter.Parse(TwoCores, core));
    }

    [Fact]
    public void A_core_the_machine_does_not_have_gives_no_figure()
    {
        Assert.Null(WakeupMeter.Parse(TwoCores, 2));
    }

    [Fact]
    public void A_listing_without_both_rows_gives_no_figure()
    {
        Assert.Null(WakeupMeter.Parse(TwoCores.Replace("CAL:", "XYZ:", StringComparison.Ordinal), 0));
    }

    [Fact]
    public void This_machine_counts_wake_ups_into_its_first_core()
    {
        // Every Linux machine the load tool runs on lists RES and CAL per core; the count only grows.
        var first = WakeupMeter.Read(0);
        Assert.NotNull(first);
        Assert.True(WakeupMeter.Read(0) >= first);
    }
}
