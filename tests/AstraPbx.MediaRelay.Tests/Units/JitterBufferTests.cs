using AstraPbx.MediaRelay.Gateway;
using AstraPbx.MediaRelay.Media;
using AstraPbx.MediaRelay.Tests.Support;
using Microsoft.Extensions.Options;
using Xunit;

namespace AstraPbx.MediaRelay.Tests.Units;

public sealed class JitterBufferTests
{
    private static byte[] Bytes(int count, byte value) => Enumerable.Repeat(value, count).ToArray();

    [Theory]
    [InlineData(8000, 320)]
    [InlineData(16000, 640)]
    public void Playout_waits_for_the_target_then_plays_whole_frames(int rate, int frameBytes)
    {
        var jitter = new JitterBuffer(targetMs: 40, capMs: 1000, sampleRate: rate);
        Assert.Equal(frameBytes, jitter.FrameBytes);
        var frame = new byte[frameBytes];
        jitter.Write(Bytes(frameBytes, 1));
        Assert.False(jitter.ReadFrame(frame));
        jitter.Write(Bytes(frameBytes, 2));
        Assert.True(jitter.ReadFrame(frame));
        Assert.All(frame, b => Assert.Equal(1, b));
        Assert.True(jitter.ReadFrame(frame));
        Assert.All(frame, b => Assert.Equal(2, b));
        Assert.False(jitter.ReadFrame(frame));
        Assert.All(frame, b => Assert.Equal(0, b));
        Assert.Equal(1, jitter.Underruns);
    }

    [Fact]
    public void At_16_kHz_the_target_is_counted_in_16_kHz_bytes()
    {
        // 40 ms at 16 kHz is 1280 bytes: one 8 kHz-sized frame's worth (or two) must not start playout early.
        var jitter = new JitterBuffer(targetMs: 40, capMs: 1000, sampleRate: 16000);
        var frame = new byte[640];
        jitter.Write(Bytes(960, 4));
        Assert.False(jitter.ReadFrame(frame));
        jitter.Write(Bytes(320, 4));
        Assert.True(jitter.ReadFrame(frame));
        Assert.Equal(640, jitter.Count);
    }

    [Theory]
    [InlineData(8000)]
    [InlineData(16000)]
    public void A_lone_first_chunk_plays_once_it_has_waited_the_target(int rate)
    {
        var jitter = new JitterBuffer(targetMs: 40, capMs: 1000, sampleRate: rate);
        var frame = new byte[jitter.FrameBytes];
        jitter.Write(Bytes(jitter.FrameBytes, 7));
        Assert.False(jitter.ReadFrame(frame));
        Assert.False(jitter.ReadFrame(frame));
        Assert.True(jitter.ReadFrame(frame));
        Assert.All(frame, b => Assert.Equal(7, b));
    }

    [Theory]
    [InlineData(8000)]
    [InlineData(16000)]
    public void A_partial_frame_is_padded_with_silence_once_no_more_audio_came_for_a_tick(int rate)
    {
        var jitter = new JitterBuffer(targetMs: 0, capMs: 1000, sampleRate: rate);
        var f = jitter.FrameBytes;
        var frame = new byte[f];
        jitter.Write(Bytes(100, 9));
        Assert.False(jitter.ReadFrame(frame));
        jitter.Write(Bytes(f - 100, 9));
        Assert.True(jitter.ReadFrame(frame));
        Assert.All(frame, b => Assert.Equal(9, b));
        jitter.Write(Bytes(f + 80, 3));
        Assert.True(jitter.ReadFrame(frame));
        jitter.Write([]);
        Assert.True(jitter.ReadFrame(frame));
        Assert.All(frame[..80], b => Assert.Equal(3, b));
        Assert.All(frame[80..], b => Assert.Equal(0, b));
    }

    [Theory]
    [InlineData(8000, 1600)]
    [InlineData(16000, 3200)]
    public void Over_the_cap_the_oldest_audio_is_dropped(int rate, int capBytes)
    {
        // 100 ms is rate / 500 bytes per millisecond x 100.
        var jitter = new JitterBuffer(targetMs: 0, capMs: 100, sampleRate: rate);
        jitter.Write(Bytes(capBytes, 1));
        jitter.Write(Bytes(jitter.FrameBytes, 2));
        Assert.Equal(capBytes, jitter.Count);
        Assert.Equal(jitter.FrameBytes, jitter.OverflowBytes);
    }

    [Theory]
    [InlineData(8000)]
    [InlineData(16000)]
    public void Marks_are_due_only_once_the_audio_before_them_has_played_and_at_once_on_clear(int rate)
    {
        var jitter = new JitterBuffer(targetMs: 0, capMs: 1000, sampleRate: rate);
        var f = jitter.FrameBytes;
        var frame = new byte[f];
        jitter.Write(Bytes(2 * f, 1));
        jitter.AddMark("a");
        jitter.Write(Bytes(2 * f, 1));
        jitter.AddMark("b");
        jitter.ReadFrame(frame);
        Assert.False(jitter.TryTakeDueMark(out _));
        jitter.ReadFrame(frame);
        Assert.True(jitter.TryTakeDueMark(out var a));
        Assert.Equal("a", a);
        Assert.False(jitter.TryTakeDueMark(out _));
        jitter.RequestClear();
        Assert.False(jitter.ReadFrame(frame));
        Assert.True(jitter.TryTakeDueMark(out var b));
        Assert.Equal("b", b);
        Assert.Equal(0, jitter.Count);
    }

    [Fact]
    public void A_16_kHz_buffer_plays_its_frames_bit_exact_in_640_byte_frames()
    {
        var jitter = new JitterBuffer(targetMs: 40, capMs: 10_000, sampleRate: 16000);
        var pcm = TestPcm.Pattern(50, frameBytes: 640);
        jitter.Write(pcm);
        var played = new List<byte>();
        var frame = new byte[640];
        for (var tick = 0; tick < 50; tick++)
        {
            Assert.True(jitter.ReadFrame(frame), $"tick {tick} plays audio");
            played.AddRange(frame);
        }

        Assert.Equal(pcm, played.ToArray());
        Assert.False(jitter.ReadFrame(frame));
    }

    [Fact]
    public void A_frame_shorter_than_the_buffer_rate_is_refused()
    {
        var jitter = new JitterBuffer(targetMs: 0, capMs: 1000, sampleRate: 16000);
        Assert.Throws<ArgumentOutOfRangeException>(() => jitter.ReadFrame(new byte[320]));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(12000)]
    [InlineData(44100)]
    public void Rates_the_relay_does_not_play_are_refused(int rate) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new JitterBuffer(targetMs: 0, capMs: 1000, sampleRate: rate));

    [Fact]
    public async Task Gateway_host_is_resolved_once_and_cached()
    {
        var connector = new GatewayConnector(Options.Create(new RelayOptions()));
        var first = await connector.ResolveAsync("localhost", CancellationToken.None);
        var second = await connector.ResolveAsync("LOCALHOST", CancellationToken.None);
        Assert.Same(first, second);
        Assert.NotEmpty(first);
    }
}
