using System.Buffers;
using System.IO.Pipelines;
using AstraPbx.Audio.AudioSocket;
using Xunit;

namespace AstraPbx.Audio.Tests;

public sealed class AudioSocketWriterTests
{
    [Fact]
    public void Writes_an_audio_frame_as_kind_big_endian_length_payload()
    {
        var output = new ArrayBufferWriter<byte>();
        AudioSocketFrameWriter.Write(output, AudioSocketKind.Slin, [0x01, 0x02, 0x03, 0x04]);
        Assert.Equal([0x10, 0x00, 0x04, 0x01, 0x02, 0x03, 0x04], output.WrittenSpan.ToArray());
    }

    [Fact]
    public void Writes_a_320_byte_frame_with_length_0x0140_in_one_advance()
    {
        var output = new CountingWriter();
        AudioSocketFrameWriter.Write(output, AudioSocketKind.Slin, new byte[320]);
        Assert.Equal(1, output.Advances);
        Assert.Equal([0x10, 0x01, 0x40], output.Written[..3]);
        Assert.Equal(323, output.Written.Length);
    }

    [Fact]
    public void Writes_hangup_as_three_bytes()
    {
        var output = new ArrayBufferWriter<byte>();
        AudioSocketFrameWriter.WriteHangup(output);
        Assert.Equal([0x00, 0x00, 0x00], output.WrittenSpan.ToArray());
    }

    [Fact]
    public void Writes_the_uuid_in_rfc4122_byte_order()
    {
        var output = new ArrayBufferWriter<byte>();
        AudioSocketFrameWriter.WriteUuid(output, Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e"));
        Assert.Equal(
            [0x01, 0x00, 0x10, 0x0f, 0x8f, 0xad, 0x5b, 0xd9, 0xcb, 0x46, 0x9f, 0xa1, 0x65, 0x70, 0x86, 0x77, 0x28, 0x95, 0x0e],
            output.WrittenSpan.ToArray());
    }

    [Fact]
    public void Refuses_an_empty_frame_of_every_audio_kind()
    {
        for (var kind = AudioSocketKind.Slin; kind <= AudioSocketKind.Slin192; kind++)
        {
            var output = new ArrayBufferWriter<byte>();
            Assert.Throws<ArgumentException>(() => AudioSocketFrameWriter.Write(output, kind, []));
            Assert.Equal(0, output.WrittenCount);
        }
    }

    [Fact]
    public void Refuses_a_payload_over_65535_bytes_and_accepts_65535()
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.Throws<ArgumentException>(() => AudioSocketFrameWriter.Write(output, AudioSocketKind.Slin, new byte[65536]));
        Assert.Equal(0, output.WrittenCount);
        AudioSocketFrameWriter.Write(output, AudioSocketKind.Slin, new byte[65535]);
        Assert.Equal([0x10, 0xFF, 0xFF], output.WrittenSpan[..3].ToArray());
    }

    [Fact]
    public void Writes_non_audio_kinds_with_empty_payloads()
    {
        var output = new ArrayBufferWriter<byte>();
        AudioSocketFrameWriter.Write(output, AudioSocketKind.Error, []);
        Assert.Equal([0xFF, 0x00, 0x00], output.WrittenSpan.ToArray());
    }

    [Fact]
    public void Every_kind_round_trips_through_the_writer_and_reader()
    {
        var random = new Random(5);
        foreach (var kind in Enum.GetValues<AudioSocketKind>())
        {
            foreach (var length in new[] { 0, 1, 16, 320, 640, 65535 })
            {
                if (length == 0 && AudioSocketFormat.IsAudio(kind))
                {
                    continue;
                }

                var payload = new byte[length];
                random.NextBytes(payload);
                var output = new ArrayBufferWriter<byte>();
                AudioSocketFrameWriter.Write(output, kind, payload);
                var buffer = new ReadOnlySequence<byte>(output.WrittenMemory);
                Assert.True(AudioSocketFrameReader.TryRead(buffer, out var frame, out var consumed));
                Assert.Equal(kind, frame.Kind);
                Assert.Equal(payload, frame.Payload.ToArray());
                Assert.Equal(buffer.End, consumed);
            }
        }
    }

    [Fact]
    public async Task Frames_cross_a_pipe_intact_when_flushed_in_pieces()
    {
        var pipe = new Pipe(new PipeOptions(minimumSegmentSize: 64, pauseWriterThreshold: 0));
        var frames = new List<(AudioSocketKind Kind, byte[] Payload)>
        {
            (AudioSocketKind.Uuid, Guid.NewGuid().ToByteArray()),
            (AudioSocketKind.Slin, Enumerable.Range(0, 320).Select(i => (byte)i).ToArray()),
            (AudioSocketKind.Dtmf, [(byte)'9']),
            (AudioSocketKind.Slin16, Enumerable.Range(0, 640).Select(i => (byte)(i * 7)).ToArray()),
            (AudioSocketKind.Hangup, []),
        };
        var encoded = new ArrayBufferWriter<byte>();
        foreach (var (kind, payload) in frames)
        {
            AudioSocketFrameWriter.Write(encoded, kind, payload);
        }

        // Dribble the bytes in 37-byte pieces so frames straddle flushes and segments.
        var bytes = encoded.WrittenMemory;
        var writing = Task.Run(async () =>
        {
            for (var offset = 0; offset < bytes.Length; offset += 37)
            {
                await pipe.Writer.WriteAsync(bytes[offset..Math.Min(offset + 37, bytes.Length)]);
            }

            await pipe.Writer.CompleteAsync();
        });

        var read = new List<(AudioSocketKind Kind, byte[] Payload)>();
        while (true)
        {
            var result = await pipe.Reader.ReadAsync();
            var buffer = result.Buffer;
            while (AudioSocketFrameReader.TryRead(buffer, out var frame, out var consumed))
            {
                read.Add((frame.Kind, frame.Payload.ToArray()));
                buffer = buffer.Slice(consumed);
            }

            pipe.Reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                Assert.True(buffer.IsEmpty);
                break;
            }
        }

        await writing;
        Assert.Equal(frames.Count, read.Count);
        for (var i = 0; i < frames.Count; i++)
        {
            Assert.Equal(frames[i].Kind, read[i].Kind);
            Assert.Equal(frames[i].Payload, read[i].Payload);
        }
    }

    /// <summary>Counts <see cref="IBufferWriter{T}.Advance"/> calls: one per frame means one write per frame.</summary>
    private sealed class CountingWriter : IBufferWriter<byte>
    {
        private readonly ArrayBufferWriter<byte> _inner = new();

        public int Advances { get; private set; }

        public byte[] Written => _inner.WrittenSpan.ToArray();

        public void Advance(int count)
        {
            Advances++;
            _inner.Advance(count);
        }

        public Memory<byte> GetMemory(int sizeHint = 0) => _inner.GetMemory(sizeHint);

        public Span<byte> GetSpan(int sizeHint = 0) => _inner.GetSpan(sizeHint);
    }
}
