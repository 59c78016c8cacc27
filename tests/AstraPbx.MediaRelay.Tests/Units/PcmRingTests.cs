using AstraPbx.MediaRelay.Media;
using Xunit;

namespace AstraPbx.MediaRelay.Tests.Units;

/// <summary>The jitter buffer's ring: small while a call streams at real time, grown for a burst, back to its own small
/// array once the burst has played (docs/benchmarks.md, memory per session), with every byte in order throughout.</summary>
public sealed class PcmRingTests
{
    /// <summary>Bytes 0, 1, 2, ... from <paramref name="start"/>, wrapping at 251 (a prime: no alignment with any size).</summary>
    private static byte[] Sequence(int start, int count)
    {
        var bytes = new byte[count];
        for (var i = 0; i < count; i++)
        {
            bytes[i] = (byte)((start + i) % 251);
        }

        return bytes;
    }

    [Theory]
    [InlineData(8000, 2560)]
    [InlineData(16000, 5120)]
    public void The_jitter_ring_starts_at_the_target_plus_120_ms(int rate, int bytes)
    {
        var jitter = new JitterBuffer(targetMs: 40, capMs: 120_000, sampleRate: rate);
        Assert.Equal(bytes, jitter.Capacity);
    }

    [Theory]
    [InlineData(8000, 1)]
    [InlineData(8000, 2)]
    [InlineData(16000, 2)]
    public void A_bot_streaming_at_real_time_never_grows_the_ring(int rate, int framesPerChunk)
    {
        var jitter = new JitterBuffer(targetMs: 40, capMs: 120_000, sampleRate: rate);
        var initial = jitter.Capacity;
        var frame = new byte[jitter.FrameBytes];
        var chunk = new byte[jitter.FrameBytes * framesPerChunk];
        var played = 0;
        for (var tick = 0; tick < 1000; tick++)
        {
            if (tick % framesPerChunk == 0)
            {
                jitter.Write(chunk);
            }

            played += jitter.ReadFrame(frame) ? 1 : 0;
            Assert.Equal(initial, jitter.Capacity);
        }

        Assert.True(played > 990, $"played {played} of 1000 ticks");
    }

    [Fact]
    public void A_burst_grows_the_ring_plays_bit_exact_and_the_ring_shrinks_back_once_played()
    {
        var jitter = new JitterBuffer(targetMs: 40, capMs: 120_000, sampleRate: 8000);
        var initial = jitter.Capacity;
        var frame = new byte[320];
        // Start the stream off the ring's origin, so the burst's copy into the bigger array has to unwrap it.
        jitter.Write(Sequence(0, 960));
        Assert.True(jitter.ReadFrame(frame));
        // A five-second greeting sent at once: 80,000 bytes.
        jitter.Write(Sequence(960, 80_000));
        Assert.True(jitter.Capacity >= 80_640, $"capacity {jitter.Capacity}");

        var played = new List<byte>(frame);
        while (jitter.ReadFrame(frame))
        {
            played.AddRange(frame);
        }

        Assert.Equal(Sequence(0, 80_960), played.ToArray());
        Assert.Equal(0, jitter.Count);
        Assert.Equal(initial, jitter.Capacity);
    }

    [Fact]
    public void Frames_and_bursts_after_the_first_allocate_nothing()
    {
        var jitter = new JitterBuffer(targetMs: 40, capMs: 120_000, sampleRate: 8000);
        var frame = new byte[320];
        var burst = Sequence(0, 16_000);
        PlayBurst(); // the first burst rents from the pool, which may allocate

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var tick = 0; tick < 500; tick++)
        {
            jitter.Write(burst.AsSpan(0, 320));
            jitter.ReadFrame(frame);
        }

        PlayBurst();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        void PlayBurst()
        {
            jitter.Write(burst);
            while (jitter.ReadFrame(frame))
            {
            }
        }
    }

    [Fact]
    public void A_clear_gives_a_grown_ring_back()
    {
        var jitter = new JitterBuffer(targetMs: 40, capMs: 120_000, sampleRate: 8000);
        var initial = jitter.Capacity;
        jitter.Write(Sequence(0, 32_000));
        Assert.True(jitter.Capacity > initial);
        jitter.RequestClear();
        Assert.False(jitter.ReadFrame(new byte[320]));
        Assert.Equal(initial, jitter.Capacity);
    }

    [Fact]
    public void Growth_keeps_wrapped_bytes_in_order()
    {
        var ring = new PcmRing(initialBytes: 8, capBytes: 64);
        ring.Write(Sequence(0, 6));
        var taken = new byte[4];
        ring.Take(taken);
        Assert.Equal(Sequence(0, 4), taken);
        ring.Write(Sequence(6, 6)); // wraps: the ring holds bytes 4..11
        Assert.False(ring.Grown);
        ring.Write(Sequence(12, 20)); // grows from 8 to what it holds, 28 bytes: the pool's 32
        Assert.True(ring.Grown);
        Assert.Equal(32, ring.Capacity);
        var rest = new byte[28];
        ring.Take(rest);
        Assert.Equal(Sequence(4, 28), rest);
        Assert.False(ring.Grown);
        Assert.Equal(8, ring.Capacity);
    }

    [Fact]
    public void A_rented_array_longer_than_the_cap_still_holds_only_the_cap()
    {
        // 40 bytes of cap: the pool hands out 64, and the ring must still drop the oldest beyond 40.
        var ring = new PcmRing(initialBytes: 8, capBytes: 40);
        ring.Write(Sequence(0, 30));
        ring.Write(Sequence(30, 30));
        Assert.Equal(40, ring.Capacity);
        Assert.Equal(40, ring.Count);
        Assert.Equal(20, ring.OverflowBytes);
        Assert.Equal(60, ring.Written);
        Assert.Equal(20, ring.Played);
        var all = new byte[40];
        ring.Take(all);
        Assert.Equal(Sequence(20, 40), all);
        Assert.Equal(8, ring.Capacity);
    }
}
