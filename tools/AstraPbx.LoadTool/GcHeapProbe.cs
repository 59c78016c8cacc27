using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace AstraPbx.LoadTool;

/// <summary>Induces a full, blocking garbage collection in a .NET process and reads the GC heap's size right after it:
/// what the process's objects hold, without the garbage a burst of allocations left in the heap until the next
/// collection (RSS keeps it). The way <c>dotnet-gcdump</c> does it, without the heap walk: an EventPipe session with
/// the runtime's <c>GCHeapCollect</c> keyword makes the runtime collect at once, and the session's
/// <c>GCHeapStats</c> event after that gen2 collection gives the generations' sizes.</summary>
internal static class GcHeapProbe
{
    private const string RuntimeProvider = "Microsoft-Windows-DotNETRuntime";

    /// <summary>The runtime's GC keyword (its GCStart, GCHeapStats events) and GCHeapCollect (0x800000: collect now).</summary>
    private const long Keywords = (long)(ClrTraceEventParser.Keywords.GC | ClrTraceEventParser.Keywords.GCHeapCollect);

    public readonly record struct Heap(long Bytes, ProcessMeter.Sample? After);

    /// <summary>The heap after an induced full collection of <paramref name="pid"/>, and the process's RSS then; null when
    /// the process does not answer (not .NET, gone, no diagnostics port) within <paramref name="timeout"/>.</summary>
    public static async Task<Heap?> CollectAsync(int pid, TimeSpan timeout)
    {
        try
        {
            var client = new DiagnosticsClient(pid);
            using var session = client.StartEventPipeSession(
                new EventPipeProvider(RuntimeProvider, EventLevel.Informational, Keywords), requestRundown: false, circularBufferMB: 16);
            using var source = new EventPipeEventSource(session.EventStream);
            var heap = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            var inGen2 = false;
            source.Clr.GCStart += e => inGen2 = e.Depth == 2;
            source.Clr.GCHeapStats += e =>
            {
                if (inGen2)
                {
                    heap.TrySetResult(e.TotalHeapSize);
                }
            };
            var processing = Task.Run(source.Process);
            var done = await Task.WhenAny(heap.Task, Task.Delay(timeout)).ConfigureAwait(false);
            session.Stop();
            await processing.WaitAsync(timeout).ConfigureAwait(false);
            return done == heap.Task ? new Heap(heap.Task.Result, ProcessMeter.Read(pid)) : null;
        }
        catch (Exception e) when (e is ServerNotAvailableException or UnsupportedCommandException or ServerErrorException or IOException
            or TimeoutException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
