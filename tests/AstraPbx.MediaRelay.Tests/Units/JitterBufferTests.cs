using AstraPbx.MediaRelay.Gateway;
using AstraPbx.MediaRelay.Media;
using Microsoft.Extensions.Options;
using Xunit;

namespace AstraPbx.MediaRelay.Tests.Units;

public sealed class JitterBufferTests
{
    private static byte[] Bytes(int count, byte value) => Enumerable.Repeat(value, count).ToArray();

    [Fact]
    public void Playout_waits_for_the_target_then_plays_whole_frames()
    {
        var jitter = new JitterBuffer(targetMs: 40, capMs: 1000);
        var frame = new byte[320];
        jitter.Write(Bytes(320, 1));
        Assert.False(jitter.ReadFrame(frame));
        jitter.Write(Bytes(320, 2));
        Assert.True(jitter.ReadFrame(frame));
        Assert.All(frame, b => Assert.Equal(1, b));
        Assert.True(jitter.ReadFrame(frame));
        Assert.All(frame, b => Assert.Equal(2, b));
        Assert.False(jitter.ReadFrame(frame));
        Assert.All(frame, b => Assert.Equal(0, b));
        Assert.Equal(1, jitter.Underruns);
    }

    [Fact]
    public void A_lone_first_chunk_plays_once_it_has_waited_the_target()
    {
        var jitter = new JitterBuffer(targetMs: 40, capMs: 1000);
        var frame = new byte[320];
        jitter.Write(Bytes(320, 7));
        Assert.False(jitter.ReadFrame(frame));
        Assert.False(jitter.ReadFrame(frame));
        Assert.True(jitter.ReadFrame(frame));
        Assert.All(frame, b => Assert.Equal(7, b));
    }

    [Fact]
    public void A_partial_frame_is_padded_with_silence_once_no_more_audio_came_for_a_tick()
    {
        var jitter = new JitterBuffer(targetMs: 0, capMs: 1000);
        var frame = new byte[320];
        jitter.Write(Bytes(100, 9));
        Assert.False(jitter.ReadFrame(frame));
        jitter.Write(Bytes(220, 9));
        Assert.True(jitter.ReadFrame(frame));
        Assert.All(frame, b => Assert.Equal(9, b));
        jitter.Write(Bytes(400, 3));
        Assert.True(jitter.ReadFrame(frame));
        jitter.Write([]);
        Assert.True(jitter.ReadFrame(frame));
        Assert.All(frame[..80], b => Assert.Equal(3, b));
        Assert.All(frame[80..], b => Assert.Equal(0, b));
    }

    [Fact]
    public void Over_the_cap_the_oldest_audio_is_dropped()
    {
        var jitter = new JitterBuffer(targetMs: 0, capMs: 100);
        jitter.Write(Bytes(1600, 1));
        jitter.Write(Bytes(320, 2));
        Assert.Equal(1600, jitter.Count);
        Assert.Equal(320, jitter.OverflowBytes);
    }

    [Fact]
    public void Marks_are_due_only_once_the_audio_before_them_has_played_and_at_once_on_clear()
    {
        var jitter = new JitterBuffer(targetMs: 0, capMs: 1000);
        var frame = new byte[320];
        jitter.Write(Bytes(640, 1));
        jitter.AddMark("a");
        jitter.Write(Bytes(640, 1));
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
    public async Task Gateway_host_is_resolved_once_and_cached()
    {
        using var connector = new GatewayConnector(Options.Create(new RelayOptions()));
        var first = await connector.ResolveAsync("localhost", CancellationToken.None);
        var second = await connector.ResolveAsync("LOCALHOST", CancellationToken.None);
        Assert.Same(first, second);
        Assert.NotEmpty(first);
    }
}
