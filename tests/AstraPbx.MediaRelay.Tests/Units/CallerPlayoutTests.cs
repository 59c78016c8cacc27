using System.Buffers;
using System.IO.Pipelines;
using System.Net.WebSockets;
using AstraPbx.Audio.AudioSocket;
using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay.Caller;
using AstraPbx.MediaRelay.Gateway;
using AstraPbx.MediaRelay.Media;
using AstraPbx.MediaRelay.Sessions;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace AstraPbx.MediaRelay.Tests.Units;

/// <summary>The writer toward Asterisk between the claim and the attached output (a window the fuzz run hit once: the bot
/// closed right after Asterisk claimed the session, and no 0x00 went out).</summary>
public sealed class CallerPlayoutTests
{
    private sealed class Session : ISessionControl
    {
        public string CallId => "call-1";

        public Guid SessionId { get; } = Guid.NewGuid();

        public bool IsEnded => false;

        public Task EndAsync(EndReason reason) => Task.CompletedTask;
    }

    private static CallerPlayout Playout(AudioSocketKind kind)
    {
        var jitter = new JitterBuffer(40, 10_000);
        var session = new Session();
        var codec = GatewayMediaCodec.Create(MediaMode.AstraPbxBinary, "asterisk_1", 8192, new GatewayLimits(4096, 16, 256));
        var gateway = new GatewayLeg(new ClientWebSocket(), codec, jitter, session, new RelayOptions(), NullLogger.Instance);
        return new CallerPlayout(kind, jitter, gateway, session, NullLogger.Instance);
    }

    [Fact]
    public async Task A_hangup_asked_for_before_the_output_is_attached_is_written_once_it_is()
    {
        var playout = Playout(AudioSocketKind.Slin);
        await playout.HangUpAsync();
        var pipe = new Pipe();

        playout.Attach(pipe.Writer);
        var read = await pipe.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(new byte[] { 0x00, 0x00, 0x00 }, read.Buffer.ToArray());
        pipe.Reader.AdvanceTo(read.Buffer.End);

        // Nothing after the 0x00: a tick finds the output closed.
        playout.OnTick(1, 0, 0);
        Assert.False(pipe.Reader.TryRead(out _));
    }

    [Fact]
    public async Task Ticks_before_the_output_is_attached_write_nothing_and_the_first_after_writes_the_prepared_kind()
    {
        var playout = Playout(AudioSocketKind.Slin16);
        playout.OnTick(1, 0, 0);
        var pipe = new Pipe();
        playout.Attach(pipe.Writer);
        playout.OnTick(2, 0, 0);

        var read = await pipe.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        var bytes = read.Buffer.ToArray();
        Assert.Equal(3 + 640, bytes.Length);
        Assert.Equal((byte)AudioSocketKind.Slin16, bytes[0]);
        Assert.Equal(1, playout.FramesToCaller);
    }
}
