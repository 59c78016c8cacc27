using AstraPbx.Contracts.Media;
using AstraPbx.Routing.Orchestration;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace AstraPbx.Routing.Tests;

/// <summary>Issue 13, item 1: Routing skips the relays only when every relay heard from lately has no room.</summary>
public sealed class RelayCapacityViewTests
{
    private static RelayCapacity Report(string relay, bool accepting) =>
        new() { RelayInstance = relay, Accepting = accepting, ValidFor = TimeSpan.FromSeconds(3) };

    [Fact]
    public void No_report_means_ask_the_relays()
    {
        var view = new RelayCapacityView(new FakeTimeProvider());
        Assert.False(view.NoRelayHasRoom(out var relays));
        Assert.Equal(0, relays);
    }

    [Fact]
    public void Every_relay_full_means_no_room_and_one_with_room_is_enough()
    {
        var view = new RelayCapacityView(new FakeTimeProvider());
        view.Update(Report("relay-1", false));
        view.Update(Report("relay-2", false));
        Assert.True(view.NoRelayHasRoom(out var relays));
        Assert.Equal(2, relays);

        view.Update(Report("relay-2", true));
        Assert.False(view.NoRelayHasRoom(out _));
    }

    [Fact]
    public void A_relays_older_report_handled_after_its_newer_one_is_ignored()
    {
        var view = new RelayCapacityView(new FakeTimeProvider());
        var at = new DateTimeOffset(2026, 12, 6, 0, 0, 0, TimeSpan.Zero);
        var waiting = view.NoRoomReported;
        view.Update(Report("relay-1", false) with { MeasuredAt = at.AddMilliseconds(5) });
        Assert.True(waiting.IsCancellationRequested);

        // Its periodic report of room, measured 5 ms before it paused, consumed after the report of no room.
        view.Update(Report("relay-1", true) with { MeasuredAt = at });
        Assert.True(view.NoRelayHasRoom(out var relays));
        Assert.Equal(1, relays);

        // Another relay's reports are its own; a later report of the first still counts.
        view.Update(Report("relay-2", false) with { MeasuredAt = at.AddSeconds(-10) });
        view.Update(Report("relay-1", true) with { MeasuredAt = at.AddSeconds(1) });
        Assert.False(view.NoRelayHasRoom(out _));
    }

    [Fact]
    public void A_report_older_than_its_validity_no_longer_counts()
    {
        var time = new FakeTimeProvider();
        var view = new RelayCapacityView(time);
        view.Update(Report("relay-1", false));
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.True(view.NoRelayHasRoom(out _));
        time.Advance(TimeSpan.FromSeconds(1.5));
        Assert.False(view.NoRelayHasRoom(out var relays));
        Assert.Equal(0, relays);
    }

    [Fact]
    public void The_last_relay_with_room_reporting_none_cancels_the_waiting_requests_token_once()
    {
        var view = new RelayCapacityView(new FakeTimeProvider());
        view.Update(Report("relay-1", false));
        view.Update(Report("relay-2", true));
        var waiting = view.NoRoomReported;

        view.Update(Report("relay-2", false));

        Assert.True(waiting.IsCancellationRequested);
        Assert.False(view.NoRoomReported.IsCancellationRequested, "the next request gets a fresh token");
    }

    [Fact]
    public void A_report_of_room_or_a_full_relay_beside_one_with_room_leaves_the_token_alone()
    {
        var view = new RelayCapacityView(new FakeTimeProvider());
        var waiting = view.NoRoomReported;
        view.Update(Report("relay-1", true));
        view.Update(Report("relay-2", false));
        view.Update(Report("relay-2", true));
        Assert.False(waiting.IsCancellationRequested);
    }

    [Fact]
    public void A_full_relay_repeating_its_report_after_the_other_relays_report_ran_out_cancels_the_token()
    {
        var time = new FakeTimeProvider();
        var view = new RelayCapacityView(time);
        view.Update(Report("relay-1", true));
        view.Update(Report("relay-2", false));
        var waiting = view.NoRoomReported;
        time.Advance(TimeSpan.FromSeconds(3.5));

        view.Update(Report("relay-2", false));

        Assert.True(waiting.IsCancellationRequested);
    }
}
