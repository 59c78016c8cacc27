using AstraPbx.MediaRelay.Capacity;
using Xunit;

namespace AstraPbx.MediaRelay.Tests.Units;

/// <summary>Issue 13, item 1: the headroom decision from one window's measurement.</summary>
public sealed class CapacityStateTests
{
    private static readonly CapacityOptions Options = new() { CpuLimit = 0.8, MaxLateTickRatio = 0.01 };

    [Theory]
    [InlineData("200000 100000", 2.0)]
    [InlineData("50000 100000\n", 0.5)]
    [InlineData("max 100000", null)]
    [InlineData("", null)]
    [InlineData("x y", null)]
    [InlineData("0 100000", null)]
    public void The_cgroup_quota_is_read_as_cores(string cpuMax, double? cores) =>
        Assert.Equal(cores, CpuSampler.ParseCpuMax(cpuMax));

    [Fact]
    public void With_no_session_there_is_room_for_every_session_the_limit_allows()
    {
        var state = CapacityState.Measure(Options, maxSessions: 1000, sessions: 0, draining: false, cpuUsedCores: 0.02, availableCores: 1, lateTickRatio: 0.5, lateTicks: 50);
        Assert.True(state.Accepting);
        Assert.Equal(1000, state.HeadroomSessions);
    }

    [Fact]
    public void Headroom_is_what_the_cpu_per_session_leaves_under_the_limit()
    {
        // 10 sessions on half a core: 0.05 each; the limit is 0.8 of one core, so 6 more fit.
        var state = CapacityState.Measure(Options, 1000, 10, false, 0.5, 1, 0, 0);
        Assert.True(state.Accepting);
        Assert.Equal("none", state.Limiter);
        Assert.Equal(6, state.HeadroomSessions);
        Assert.Equal(0.55 / 0.8, state.Load, 3);
    }

    [Fact]
    public void A_session_is_charged_what_a_playing_session_costs_not_the_process_setting_up_a_burst()
    {
        // A relay just warmed takes a burst: one session playing (its ticks 4 millicores), eleven being set up, the
        // process at 0.33 cores. Spread over the sessions, the process's CPU allowed 17 more; a session costs 4
        // millicores, so 117 fit under the limit, less the 11 not yet playing.
        var byProcess = CapacityState.Measure(Options, 1000, 12, false, 0.33, 1, 0, 0);
        Assert.Equal(17, byProcess.HeadroomSessions);
        var state = CapacityState.Measure(Options, 1000, 12, false, 0.33, 1, 0, 0, new PlayoutLoad(1, 0.004));
        Assert.True(state.Accepting);
        Assert.Equal(106, state.HeadroomSessions);
        Assert.Equal((0.33 + 0.004 * 12) / 0.8, state.Load, 3);
    }

    [Fact]
    public void Sessions_not_yet_playing_are_projected_at_what_a_playing_one_costs()
    {
        // 10 playing at 4 millicores each, 90 more set up: 0.5 + 91 x 0.004 is over the 0.8 limit.
        var state = CapacityState.Measure(Options, 1000, 100, false, 0.5, 1, 0, 0, new PlayoutLoad(10, 0.04));
        Assert.False(state.Accepting);
        Assert.Equal("cpu", state.Limiter);
        Assert.True(state.Load > 1, $"load {state.Load}");
        Assert.True(CapacityState.Measure(Options, 1000, 80, false, 0.5, 1, 0, 0, new PlayoutLoad(10, 0.04)).Accepting);
    }

    [Fact]
    public void One_more_session_over_the_cpu_limit_is_refused()
    {
        var state = CapacityState.Measure(Options, 1000, 16, false, 0.78, 1, 0, 0);
        Assert.False(state.Accepting);
        Assert.Equal("cpu", state.Limiter);
        Assert.Equal(0, state.HeadroomSessions);
        Assert.True(state.Load > 1);
    }

    [Fact]
    public void Late_ticks_over_the_ratio_refuse_even_with_cpu_to_spare()
    {
        var state = CapacityState.Measure(Options, 1000, 5, false, 0.1, 2, 0.05, 5);
        Assert.False(state.Accepting);
        Assert.Equal("lateness", state.Limiter);
    }

    [Fact]
    public void One_late_tick_in_a_window_is_noise_a_few_are_lateness()
    {
        // 100 ticks in the window: one late is over the 1 % ratio, but not a relay out of CPU.
        Assert.Equal("none", CapacityState.Measure(Options, 1000, 36, false, 0.09, 1, 0.011, 1).Limiter);
        Assert.Equal("lateness", CapacityState.Measure(Options, 1000, 36, false, 0.09, 1, 0.03, CapacityState.MinLateTicks).Limiter);
        Assert.Equal("none", CapacityState.Measure(Options, 1000, 36, false, 0.09, 1, 0.005, 10).Limiter);
    }

    [Fact]
    public void A_few_sessions_are_not_each_charged_with_the_whole_process()
    {
        // Just after start, one session and 0.43 cores used: spread over 8, one more projects to 0.48 of the 0.8 limit.
        var state = CapacityState.Measure(Options, 1000, 1, false, 0.43, 1, 0, 0);
        Assert.True(state.Accepting);
        Assert.Equal(6, state.HeadroomSessions);
        Assert.Equal((0.43 + 0.43 / 8) / 0.8, state.Load, 3);

        // Whatever the spread, nothing is admitted once the window's CPU is at the limit.
        Assert.Equal("cpu", CapacityState.Measure(Options, 1000, 1, false, 0.8, 1, 0, 0).Limiter);
        Assert.Equal("cpu", CapacityState.Measure(Options, 1000, 3, false, 0.75, 1, 0, 0).Limiter);
    }

    [Fact]
    public void The_session_limit_and_a_drain_refuse_whatever_the_cpu()
    {
        Assert.Equal("sessions", CapacityState.Measure(Options, 4, 4, false, 0.01, 2, 0, 0).Limiter);
        Assert.Equal("draining", CapacityState.Measure(Options, 1000, 1, true, 0.01, 2, 0, 0).Limiter);
    }

    [Fact]
    public void The_quota_scales_the_limit()
    {
        // The same 16 sessions on 0.78 cores fit under two cores' limit (1.6), not under one core's (0.8).
        Assert.True(CapacityState.Measure(Options, 1000, 16, false, 0.78, 2, 0, 0).Accepting);
        Assert.False(CapacityState.Measure(Options, 1000, 16, false, 0.78, 1, 0, 0).Accepting);
    }
}
