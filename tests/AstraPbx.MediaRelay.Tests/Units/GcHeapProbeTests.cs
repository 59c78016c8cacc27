using AstraPbx.LoadTool;
using Xunit;

namespace AstraPbx.MediaRelay.Tests.Units;

/// <summary>The load tool's <c>--gc-heap</c> probe, on this test process: it makes the runtime run a full collection
/// and reads the heap's size after it.</summary>
public sealed class GcHeapProbeTests
{
    [Fact]
    public async Task The_probe_induces_a_full_collection_and_reads_the_heap_after_it()
    {
        var gen2Before = GC.CollectionCount(2);
        var keep = new byte[4 * 1024 * 1024];

        var heap = await GcHeapProbe.CollectAsync(Environment.ProcessId, TimeSpan.FromSeconds(30));

        Assert.NotNull(heap);
        Assert.True(GC.CollectionCount(2) > gen2Before, "the probe did not induce a gen2 collection");
        // The 4 MiB array is live through the collection, so the heap after it holds at least that much.
        Assert.InRange(heap.Value.Bytes, keep.Length, long.MaxValue);
        Assert.NotNull(heap.Value.After);
        GC.KeepAlive(keep);
    }

    [Fact]
    public async Task A_process_that_is_not_there_gives_no_figure()
    {
        // Pid 0 is never a process with a .NET diagnostics port.
        Assert.Null(await GcHeapProbe.CollectAsync(0, TimeSpan.FromSeconds(5)));
    }
}
