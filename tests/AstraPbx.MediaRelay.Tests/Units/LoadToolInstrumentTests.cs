using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using AstraPbx.Audio.AudioSocket;
using AstraPbx.LoadTool;
using AstraPbx.LocalRun;
using AstraPbx.MediaRelay.Tests.Support;
using AstraPbx.Simulators.AudioSocket;
using Xunit;

namespace AstraPbx.MediaRelay.Tests.Units;

/// <summary>How the load tool keeps its own stalls out of what it measures: which lost frames fell in the window, its GC
/// pauses, and a pacer thread at real-time priority.</summary>
public sealed class LoadToolInstrumentTests
{
    [Fact]
    public void Lost_frames_are_split_by_whether_they_were_sent_inside_the_window()
    {
        var window = new LoadWindow();
        var probe = new CallProbe(window, new LoadStats(), maxFrames: 100);
        var frames = new List<byte[]>();
        void Send(int count)
        {
            for (var i = 0; i < count; i++)
            {
                var frame = new byte[320];
                probe.Fill(frame, frames.Count);
                frames.Add(frame);
            }
        }

        Send(10);
        window.Open(Stopwatch.GetTimestamp());
        Send(10);
        window.Close(Stopwatch.GetTimestamp());
        Send(5);
        int[] neverEchoed = [5, 12, 15, 22];
        for (var seq = 0; seq < frames.Count; seq++)
        {
            if (!neverEchoed.Contains(seq))
            {
                CallProbe.StampBotReceipt(frames[seq], null);
                probe.OnFrame(AudioSocketKind.Slin, new ReadOnlySequence<byte>(frames[seq]), Stopwatch.GetTimestamp());
            }
        }

        Assert.Equal(frames.Count - neverEchoed.Length, probe.DistinctEchoes);
        Assert.Equal(2, probe.LostInWindow());

        // Each lost frame, with when it was due to leave (the pacer's 20 ms from the call's first frame), at most as many
        // as asked for.
        Assert.Equal(neverEchoed.Select(seq => ((long)seq, probe.FirstSent + seq * Stopwatch.Frequency / 50)), probe.LostFrames(10));
        Assert.Equal([5L, 12L], probe.LostFrames(2).Select(f => f.Seq));

        // Around a lost frame: each neighbour's uplink (caller to the echo bot) and round trip, "-" for one lost.
        var around = probe.Around(5).Split(' ');
        Assert.Equal(7, around.Length);
        Assert.Equal("-", around[4]);
        Assert.All(around.Where((_, i) => i != 4), pair => Assert.Matches(@"^\d+/\d+$", pair));
    }

    [Fact]
    public async Task A_collection_in_the_tool_is_counted_as_a_pause_with_its_length_when_it_began()
    {
        using var meter = new ToolGcMeter();
        var from = ToolGcMeter.Mark();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (meter.Between(from, DateTime.MaxValue).Pauses == 0)
        {
            // The runtime's events reach the listener on its own thread, a moment after the collection.
            GC.Collect();
            await Task.Delay(50, timeout.Token);
        }

        var to = ToolGcMeter.Mark();
        var after = meter.Between(from, to);
        Assert.True(after.Pauses >= 1);
        Assert.True(after.TotalMs > 0 && after.MaxMs > 0 && after.MaxMs <= after.TotalMs, $"pauses {after.Pauses}, total {after.TotalMs} ms, longest {after.MaxMs} ms");

        // Counted by when it began, not when its events arrived (on the listener's thread, later): a collection made
        // just before a mark counts before it, even when its events come in after it.
        var began = ToolGcMeter.Mark();
        GC.Collect();
        var mark = ToolGcMeter.Mark();
        await Wait.Until(() => meter.Between(began, mark).Pauses > 0, "the collection counted between the marks around it", 30);
    }

    [Fact]
    public async Task The_pacer_says_whether_its_thread_runs_at_sched_fifo_and_it_does_where_the_process_may()
    {
        using (var ordinary = new CallerPacer())
        {
            Assert.False(await ordinary.Realtime.WaitAsync(TimeSpan.FromSeconds(10)));
        }

        using var pacer = new CallerPacer(realtime: true);
        var realtime = await pacer.Realtime.WaitAsync(TimeSpan.FromSeconds(10));
        if (!OperatingSystem.IsLinux())
        {
            Assert.False(realtime);
            return;
        }

        // The kernel's view of the thread: field 41 of its stat line is the policy (1 = SCHED_FIFO).
        // Other tests' threads come and go meanwhile: one that ended between the listing and the read is skipped.
        var policies = Directory.GetDirectories("/proc/self/task")
            .Where(task => ReadOrNull(Path.Combine(task, "comm"))?.Trim() == "caller-pacer")
            .Select(task => ReadOrNull(Path.Combine(task, "stat")))
            .OfType<string>()
            .Select(stat => int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[38], System.Globalization.CultureInfo.InvariantCulture))
            .ToList();
        Assert.Contains(realtime ? 1 : 0, policies);
        if (IsRoot())
        {
            Assert.True(realtime, "root may ask for SCHED_FIFO");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Callers_on_a_shared_receiver_get_every_frame_whole_and_end_on_the_relays_hangup_frame(bool kernelStamps)
    {
        if (!CallerReceiver.IsSupported)
        {
            return; // The shared receiver waits with epoll (Linux); elsewhere callers keep their own loops.
        }

        using var receiver = new CallerReceiver(kernelStamps: kernelStamps);
        var (relay, caller) = await DialAsync(receiver);
        await using (caller)
        using (relay)
        {
            // Frames cut across sends, and one longer than the receiver's first buffer (4 KiB).
            byte[][] payloads = [Payload(320, 1), Payload(6000, 2), Payload(320, 3)];
            var bytes = payloads.SelectMany(p => Frame(AudioSocketKind.Slin, p)).Concat(Frame(AudioSocketKind.Hangup, [])).ToArray();
            foreach (var chunk in bytes.Chunk(1000))
            {
                await relay.SendAsync(chunk);
            }

            Assert.Equal(CallerEnd.RelayHungUp, await caller.Ended.WaitAsync(TimeSpan.FromSeconds(10)));
            var received = caller.Received.ToArray();
            Assert.Equal([AudioSocketKind.Slin, AudioSocketKind.Slin, AudioSocketKind.Slin, AudioSocketKind.Hangup], received.Select(f => f.Kind));
            for (var i = 0; i < payloads.Length; i++)
            {
                Assert.Equal(payloads[i], received[i].Payload);
            }

            Assert.Equal(0, receiver.Count);
        }
    }

    [Fact]
    public async Task A_caller_on_a_shared_receiver_ends_when_the_relay_closes_without_a_hangup_frame()
    {
        if (!CallerReceiver.IsSupported)
        {
            return; // The shared receiver waits with epoll (Linux); elsewhere callers keep their own loops.
        }

        using var receiver = new CallerReceiver();
        var (relay, caller) = await DialAsync(receiver);
        await using (caller)
        {
            await relay.SendAsync(Frame(AudioSocketKind.Slin, Payload(320, 7)));
            relay.Shutdown(SocketShutdown.Send);
            Assert.Equal(CallerEnd.RelayClosed, await caller.Ended.WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Single(caller.Received);
            relay.Dispose();
        }
    }

    [Fact]
    public async Task A_call_whose_frame_handling_fails_ends_alone_and_the_receiver_keeps_reading_the_others()
    {
        if (!CallerReceiver.IsSupported)
        {
            return;
        }

        using var receiver = new CallerReceiver();
        var (badRelay, bad) = await DialAsync(receiver, (_, _, _) => throw new InvalidOperationException("a probe that fails"));
        var (goodRelay, good) = await DialAsync(receiver);
        await using (bad)
        await using (good)
        using (badRelay)
        using (goodRelay)
        {
            await badRelay.SendAsync(Frame(AudioSocketKind.Slin, Payload(320, 1)));
            Assert.Equal(CallerEnd.ConnectionLost, await bad.Ended.WaitAsync(TimeSpan.FromSeconds(10)));
            await goodRelay.SendAsync(Frame(AudioSocketKind.Slin, Payload(320, 2)).Concat(Frame(AudioSocketKind.Hangup, [])).ToArray());
            Assert.Equal(CallerEnd.RelayHungUp, await good.Ended.WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal(2, good.Received.Count);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_frame_is_stamped_when_the_kernel_received_it_not_when_a_busy_receiver_read_it(bool kernelStamps)
    {
        if (!CallerReceiver.IsSupported)
        {
            return;
        }

        // The first frame's handling holds the receiver thread; the second frame arrives meanwhile and waits in the socket.
        using var handling = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var stamps = new List<long>();
        using var receiver = new CallerReceiver(kernelStamps: kernelStamps);
        Assert.Equal(kernelStamps, receiver.UsesKernelStamps);
        var (relay, caller) = await DialAsync(receiver, (_, _, timestamp) =>
        {
            stamps.Add(timestamp);
            if (stamps.Count == 1)
            {
                handling.Set();
                release.Wait(TimeSpan.FromSeconds(30));
            }
        });
        await using (caller)
        using (relay)
        {
            await relay.SendAsync(Frame(AudioSocketKind.Slin, Payload(320, 1)));
            Assert.True(handling.Wait(TimeSpan.FromSeconds(10)), "the receiver read the first frame");
            var beforeSend = Stopwatch.GetTimestamp();
            await relay.SendAsync(Frame(AudioSocketKind.Slin, Payload(320, 2)).Concat(Frame(AudioSocketKind.Hangup, [])).ToArray());
            var afterSend = Stopwatch.GetTimestamp();
            // The stimulus, not a wait for anything: the second frame sits unread this long.
            await Task.Delay(TimeSpan.FromMilliseconds(300));
            var released = Stopwatch.GetTimestamp();
            release.Set();
            Assert.Equal(CallerEnd.RelayHungUp, await caller.Ended.WaitAsync(TimeSpan.FromSeconds(10)));

            Assert.Equal(3, stamps.Count);
            var second = stamps[1];
            if (kernelStamps)
            {
                // Stamped in the send (loopback), give or take the two clocks' reading (microseconds).
                var slack = Stopwatch.Frequency / 200;
                Assert.InRange(second, beforeSend - slack, afterSend + slack);
            }
            else
            {
                Assert.True(second >= released, "without kernel stamps a frame is stamped when the receiver woke to read it");
            }
        }
    }

    /// <summary>A caller dialled into a bare listener standing in for the relay, its UUID frame read.</summary>
    private static async Task<(Socket Relay, AudioSocketCaller Caller)> DialAsync(CallerReceiver receiver, ReceivedFrameHandler? onFrame = null)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var accepting = listener.AcceptSocketAsync();
        var caller = await AudioSocketCaller.DialAsync("127.0.0.1", port, Guid.NewGuid(), new CallerOptions { Silent = true, Receiver = receiver, OnFrame = onFrame });
        var relay = await accepting.WaitAsync(TimeSpan.FromSeconds(10));
        var uuid = new byte[19];
        for (var read = 0; read < uuid.Length;)
        {
            read += await relay.ReceiveAsync(uuid.AsMemory(read));
        }

        Assert.Equal((byte)AudioSocketKind.Uuid, uuid[0]);
        return (relay, caller);
    }

    private static byte[] Payload(int length, byte fill) => Enumerable.Repeat(fill, length).ToArray();

    private static byte[] Frame(AudioSocketKind kind, byte[] payload) =>
        [(byte)kind, (byte)(payload.Length >> 8), (byte)payload.Length, .. payload];

    [Fact]
    public void A_cores_busy_time_and_steal_come_from_its_proc_stat_line()
    {
        const string stat = "cpu  692849 0 288082 1796042 3488 0 95109 0 0 0\n" +
            "cpu0 356190 0 176155 874657 738 0 27133 0 0 0\n" +
            "cpu1 336659 5 111927 921384 2749 11 67976 300 0 0\n" +
            "intr 1\n";
        var core = CoreMeter.Parse(stat, 1);
        Assert.Equal(new CoreMeter.Sample(336659 + 5 + 111927 + 11 + 67976 + 300, 300, 336659 + 5 + 111927 + 921384 + 2749 + 11 + 67976 + 300), core);
        Assert.Null(CoreMeter.Parse(stat, 2));
        Assert.NotNull(CoreMeter.Read(0));
    }

    [Fact]
    public void The_broker_is_pinned_with_every_process_below_it_found_from_proc_stat_parents()
    {
        // The name is in parentheses and may hold spaces and parentheses itself; the parent pid follows the state.
        Assert.Equal(26189, BrokerPinning.ParseParent("26195 (erl_child_setup) S 26189 26183 26183 0 -1 4194560"));
        Assert.Equal(26195, BrokerPinning.ParseParent("8679 (beam.smp (x) y) R 26195 26183 26183 0 -1"));
        Assert.Null(BrokerPinning.ParseParent("garbage"));

        // The broker, its erl_child_setup, what that started (and what those started); not its parent, nor a sibling.
        var parents = new Dictionary<int, int> { [26189] = 26183, [26195] = 26189, [26253] = 26195, [26254] = 26253, [8679] = 26195, [26184] = 26183, [1] = 0 };
        Assert.Equal([26189, 26195, 8679, 26253, 26254], BrokerPinning.Descendants(26189, parents));
        Assert.Equal(Path.Combine(".infra", "rabbitmq", "rabbit.pid"), Path.GetRelativePath(RepoPaths.Root, BrokerPinning.PidFile));
    }

    [Fact]
    public void The_echo_bots_threads_are_found_by_the_name_dotnet_gives_its_socket_engines_threads()
    {
        var tasks = Directory.CreateTempSubdirectory("tasks-");
        try
        {
            foreach (var (tid, comm) in new[] { ("4102", ".NET Sockets\n"), ("4101", ".NET TP Worker\n"), ("4099", ".NET Sockets\n"), ("self", ".NET Sockets\n") })
            {
                Directory.CreateDirectory(Path.Combine(tasks.FullName, tid));
                File.WriteAllText(Path.Combine(tasks.FullName, tid, "comm"), comm);
            }

            Directory.CreateDirectory(Path.Combine(tasks.FullName, "4200")); // a thread that ended while listed: no comm

            Assert.Equal([4099, 4102], EchoThreads.SocketEngineThreads(tasks.FullName));
            Assert.Empty(EchoThreads.SocketEngineThreads(Path.Combine(tasks.FullName, "missing")));
        }
        finally
        {
            tasks.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task This_runtimes_socket_engine_threads_carry_the_name_the_load_tool_looks_for()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        // An async accept and connect start the socket engine (if nothing in this process had yet).
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var accept = listener.AcceptAsync();
        await client.ConnectAsync(listener.LocalEndPoint!);
        using var server = await accept;

        var threads = EchoThreads.SocketEngineThreads("/proc/self/task");
        Assert.NotEmpty(threads);
        Assert.All(threads, tid => Assert.StartsWith(EchoThreads.EngineThreadName, File.ReadAllText($"/proc/self/task/{tid}/comm")));
    }

    [Fact]
    public void The_stall_probe_counts_a_stall_as_the_machines_only_when_every_core_was_held_up_at_the_same_time()
    {
        static StallProbe.Stall Ms(double from, double to) =>
            new((long)(from * Stopwatch.Frequency / 1000), (long)(to * Stopwatch.Frequency / 1000));

        IReadOnlyList<StallProbe.Stall> core0 = [Ms(10, 20), Ms(100, 110), Ms(300, 309)];
        IReadOnlyList<StallProbe.Stall> core1 = [Ms(15, 30), Ms(200, 210), Ms(301, 305), Ms(306, 312)];

        var together = StallProbe.Coincident([core0, core1]);

        // 15-20 overlaps; 100-110 has no partner; 300-309 overlaps two of core 1's, together 301-309.
        Assert.Equal(2, together.Count);
        Assert.Equal(5, together[0], 1);
        Assert.Equal(8, together[1], 1);
        Assert.Empty(StallProbe.Coincident([core0, core1, [Ms(500, 600)]]));
        Assert.Equal(3, StallProbe.Coincident([core0]).Count);
    }

    private static string? ReadOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static bool IsRoot() =>
        File.ReadLines("/proc/self/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal)).Split('\t', StringSplitOptions.RemoveEmptyEntries)[2] == "0";
}
