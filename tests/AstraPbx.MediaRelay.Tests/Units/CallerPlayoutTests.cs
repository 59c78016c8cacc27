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

    private static CallerPlayout Playout(AudioSocketKind kind, JitterBuffer? jitter = null)
    {
        jitter ??= new JitterBuffer(40, 10_000);
        var session = new Session();
        var codec = GatewayMediaCodec.Create(MediaMode.AstraPbxBinary, "asterisk_1", 8192, new GatewayLimits(4096, 16, 256));
        var socket = new GatewayWebSocket(new GatewayStream(new FakeConnection(), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)));
        var gateway = new GatewayLeg(socket, codec, jitter, session, new RelayOptions(), NullLogger.Instance);
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

    [Fact]
    public async Task A_16_kHz_session_writes_the_bots_16_kHz_frames_unchanged()
    {
        var jitter = new JitterBuffer(0, 10_000, sampleRate: 16000);
        var playout = Playout(AudioSocketKind.Slin16, jitter);
        Assert.Equal(16000, playout.GatewayRate);
        var pcm = Support.TestPcm.Pattern(2, frameBytes: 640);
        jitter.Write(pcm);
        var pipe = new Pipe();
        playout.Attach(pipe.Writer);
        playout.OnTick(1, 0, 0);
        playout.OnTick(2, 0, 0);

        var bytes = await ReadAsync(pipe.Reader, 2 * (3 + 640));
        Assert.Equal(pcm[..640], bytes[3..643]);
        Assert.Equal(pcm[640..], bytes[646..]);
        Assert.Equal(new byte[] { 0x12, 0x02, 0x80 }, bytes[..3]);
    }

    [Fact]
    public async Task An_8_kHz_gateway_rate_is_resampled_up_for_a_16_kHz_caller()
    {
        // Twilio mode with a 16 kHz caller: the bot's audio is 8 kHz, the caller's frames 0x12.
        var jitter = new JitterBuffer(0, 10_000);
        var playout = Playout(AudioSocketKind.Slin16, jitter);
        var pcm = Support.TestPcm.Pattern(1);
        jitter.Write(pcm);
        var pipe = new Pipe();
        playout.Attach(pipe.Writer);
        playout.OnTick(1, 0, 0);

        var bytes = await ReadAsync(pipe.Reader, 3 + 640);
        var expected = new byte[640];
        Assert.Equal(640, AstraPbx.Audio.Codecs.Resampler.Resample(pcm, 8000, expected, 16000));
        Assert.Equal(expected, bytes[3..]);
    }

    private static async Task<byte[]> ReadAsync(PipeReader reader, int length)
    {
        while (true)
        {
            var read = await reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            if (read.Buffer.Length >= length)
            {
                var bytes = read.Buffer.Slice(0, length).ToArray();
                reader.AdvanceTo(read.Buffer.GetPosition(length));
                return bytes;
            }

            reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }
    }
}
