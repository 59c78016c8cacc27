using System.Collections.Concurrent;
using AstraPbx.AriIngress.Calls;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.AriIngress.Tests.CallHandling;

/// <summary>Work for one call runs in order, calls run in parallel, and ended calls are forgotten in time.</summary>
public sealed class CallTableTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Work_for_one_call_runs_in_order_and_goes_on_after_a_failed_step()
    {
        var rig = new CallRig();
        var call = rig.Table.GetOrAdd("c1");
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ran = new ConcurrentQueue<int>();

        var first = CallTable.Enqueue(call, async () =>
        {
            await gate.Task;
            ran.Enqueue(1);
        });
        var second = CallTable.Enqueue(call, () =>
        {
            ran.Enqueue(2);
            return Task.CompletedTask;
        });
        var failing = CallTable.Enqueue(call, () => throw new InvalidOperationException("step 3"));
        var fourth = CallTable.Enqueue(call, () =>
        {
            ran.Enqueue(4);
            return Task.CompletedTask;
        });

        gate.SetResult();
        await Task.WhenAll(first, second, fourth).Within(Patience, "the queued steps");
        Assert.Equal([1, 2, 4], ran);
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => failing);
        Assert.Equal("step 3", failure.Message);
    }

    [Fact]
    public async Task Work_for_different_calls_runs_in_parallel()
    {
        var rig = new CallRig();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var blocked = CallTable.Enqueue(rig.Table.GetOrAdd("slow"), () => gate.Task);

        var other = CallTable.Enqueue(rig.Table.GetOrAdd("fast"), () => Task.CompletedTask);
        await other.Within(Patience, "the other call's work while the first call waits");
        Assert.False(blocked.IsCompleted);
        gate.SetResult();
        await blocked.Within(Patience, "the first call's work");
    }

    [Fact]
    public void Ended_calls_are_forgotten_after_the_retention_and_live_calls_stay()
    {
        var rig = new CallRig(o => o.EndedCallRetention = TimeSpan.FromMinutes(1));
        var early = rig.Table.GetOrAdd("early");
        var late = rig.Table.GetOrAdd("late");
        rig.Table.GetOrAdd("live");
        rig.Table.Forget(early);
        rig.Time.Advance(TimeSpan.FromSeconds(30));
        rig.Table.Forget(late);
        Assert.True(early.Ended);

        rig.Time.Advance(TimeSpan.FromSeconds(31));
        rig.Table.Prune();
        Assert.Null(rig.Table.Find("early"));
        Assert.Same(late, rig.Table.Find("late"));
        Assert.Equal(2, rig.Table.TrackedCalls);

        rig.Time.Advance(TimeSpan.FromMinutes(1));
        rig.Table.Prune();
        Assert.Null(rig.Table.Find("late"));
        Assert.NotNull(rig.Table.Find("live"));
        Assert.Equal(1, rig.Table.TrackedCalls);
    }

    [Fact]
    public void Over_the_cap_the_oldest_ended_calls_go_first_and_live_calls_are_kept()
    {
        var rig = new CallRig(o => o.MaxTrackedCalls = 3);
        var ended = new[] { rig.Table.GetOrAdd("e1"), rig.Table.GetOrAdd("e2"), rig.Table.GetOrAdd("e3") };
        rig.Table.GetOrAdd("l1");
        rig.Table.GetOrAdd("l2");
        foreach (var call in ended)
        {
            rig.Table.Forget(call);
        }

        rig.Table.Prune();
        Assert.Equal(3, rig.Table.TrackedCalls);
        Assert.Null(rig.Table.Find("e1"));
        Assert.Null(rig.Table.Find("e2"));
        Assert.NotNull(rig.Table.Find("e3"));

        rig.Table.GetOrAdd("l3");
        rig.Table.GetOrAdd("l4");
        rig.Table.Prune();
        Assert.Equal(4, rig.Table.TrackedCalls);
        Assert.All(new[] { "l1", "l2", "l3", "l4" }, id => Assert.NotNull(rig.Table.Find(id)));
    }
}
