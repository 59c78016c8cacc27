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
}
