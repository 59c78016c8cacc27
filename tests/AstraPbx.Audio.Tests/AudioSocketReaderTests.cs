using System.Buffers;
using AstraPbx.Audio.AudioSocket;
using Xunit;

namespace AstraPbx.Audio.Tests;

public sealed class AudioSocketReaderTests
{
    /// <summary>UUID 0f8fad5b-d9cb-469f-a165-70867728950e as Asterisk sends it: the 16 bytes in RFC 4122 order.</summary>
    private static readonly byte[] UuidFrame =
        [0x01, 0x00, 0x10, 0x0f, 0x8f, 0xad, 0x5b, 0xd9, 0xcb, 0x46, 0x9f, 0xa1, 0x65, 0x70, 0x86, 0x77, 0x28, 0x95, 0x0e];

    public static TheoryData<byte[], byte, byte[]> ByteLiterals => new()
    {
        { [0x00, 0x00, 0x00], 0x00, [] },
        { UuidFrame, 0x01, UuidFrame[3..] },
        { [0x03, 0x00, 0x01, (byte)'5'], 0x03, [(byte)'5'] },
        { [0x03, 0x00, 0x01, (byte)'#'], 0x03, [(byte)'#'] },
        { [0x10, 0x00, 0x04, 0x01, 0x02, 0xFE, 0xFF], 0x10, [0x01, 0x02, 0xFE, 0xFF] },
        { [0x11, 0x00, 0x02, 0x34, 0x12], 0x11, [0x34, 0x12] },
        { [0x12, 0x00, 0x02, 0x00, 0x80], 0x12, [0x00, 0x80] },
        { [0x13, 0x00, 0x02, 0xFF, 0x7F], 0x13, [0xFF, 0x7F] },
        { [0x14, 0x00, 0x02, 0x01, 0x00], 0x14, [0x01, 0x00] },
        { [0x15, 0x00, 0x02, 0x00, 0x01], 0x15, [0x00, 0x01] },
        { [0x16, 0x00, 0x02, 0xAA, 0x55], 0x16, [0xAA, 0x55] },
        { [0x17, 0x00, 0x02, 0x55, 0xAA], 0x17, [0x55, 0xAA] },
        { [0x18, 0x00, 0x02, 0x0F, 0xF0], 0x18, [0x0F, 0xF0] },
        { [0xFF, 0x00, 0x01, 0x04], 0xFF, [0x04] },
        { [0xFF, 0x00, 0x00], 0xFF, [] },
        { [0x42, 0x00, 0x01, 0x99], 0x42, [0x99] }, // an unknown kind passes through for the caller to refuse
    };

    [Theory]
    [MemberData(nameof(ByteLiterals))]
    public void Reads_each_kind_from_its_bytes(byte[] bytes, byte kind, byte[] payload)
    {
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.True(AudioSocketFrameReader.TryRead(buffer, out var frame, out var consumed));
        Assert.Equal((AudioSocketKind)kind, frame.Kind);
        Assert.Equal(payload, frame.Payload.ToArray());
        Assert.Equal(payload.Length, frame.Length);
        Assert.Equal(buffer.End, consumed);
    }

    [Theory]
    [MemberData(nameof(ByteLiterals))]
    public void Needs_more_data_until_the_frame_is_whole(byte[] bytes, byte kind, byte[] payload)
    {
        _ = kind;
        _ = payload;
        for (var length = 0; length < bytes.Length; length++)
        {
            var partial = new ReadOnlySequence<byte>(bytes, 0, length);
            Assert.False(AudioSocketFrameReader.TryRead(partial, out var frame, out var consumed), $"{length} of {bytes.Length} bytes");
            Assert.Equal(partial.Start, consumed);
            Assert.Equal(default, frame.Kind);
        }
    }

    [Theory]
    [MemberData(nameof(ByteLiterals))]
    public void Reads_the_same_frame_split_across_two_segments_at_every_point(byte[] bytes, byte kind, byte[] payload)
    {
        for (var cut = 0; cut <= bytes.Length; cut++)
        {
            var buffer = Segments.Split(bytes, cut);
            Assert.True(AudioSocketFrameReader.TryRead(buffer, out var frame, out var consumed), $"cut at {cut}");
            Assert.Equal((AudioSocketKind)kind, frame.Kind);
            Assert.Equal(payload, frame.Payload.ToArray());
            Assert.Equal(bytes.Length, buffer.Slice(buffer.Start, consumed).Length);
        }
    }

    [Fact]
    public void Reads_an_audio_frame_split_into_three_segments_at_every_pair_of_points()
    {
        var bytes = Frame(AudioSocketKind.Slin, Enumerable.Range(0, 20).Select(i => (byte)i).ToArray());
        for (var first = 0; first <= bytes.Length; first++)
        {
            for (var second = first; second <= bytes.Length; second++)
            {
                var buffer = Segments.Split(bytes, first, second);
                Assert.True(AudioSocketFrameReader.TryRead(buffer, out var frame, out var consumed), $"cuts {first},{second}");
                Assert.Equal(bytes[3..], frame.Payload.ToArray());
                Assert.Equal(buffer.End, consumed);
            }
        }
    }

    [Fact]
    public void Reads_a_full_slin16_frame_delivered_one_byte_per_segment()
    {
        var payload = new byte[640];
        new Random(11).NextBytes(payload);
        var buffer = Segments.Bytewise(Frame(AudioSocketKind.Slin16, payload));
        Assert.True(AudioSocketFrameReader.TryRead(buffer, out var frame, out _));
        Assert.Equal(AudioSocketKind.Slin16, frame.Kind);
        Assert.Equal(payload, frame.Payload.ToArray());
        Assert.False(AudioSocketFrameReader.TryRead(buffer.Slice(0, buffer.Length - 1), out _, out _));
    }

    [Fact]
    public void Reads_consecutive_frames_and_leaves_a_partial_one()
    {
        byte[] stream = [.. UuidFrame, 0x03, 0x00, 0x01, (byte)'7', 0x10, 0x00, 0x02, 0x01, 0x02, 0x10, 0x00, 0x02, 0x03];
        var buffer = Segments.Split(stream, 5, 20);
        var kinds = new List<AudioSocketKind>();
        while (AudioSocketFrameReader.TryRead(buffer, out var frame, out var consumed))
        {
            kinds.Add(frame.Kind);
            buffer = buffer.Slice(consumed);
        }

        Assert.Equal([AudioSocketKind.Uuid, AudioSocketKind.Dtmf, AudioSocketKind.Slin], kinds);
        Assert.Equal(4, buffer.Length); // the last frame lacks one payload byte
    }

    [Fact]
    public void Announces_the_payload_length_as_soon_as_the_header_is_in()
    {
        Assert.Equal(-1, AudioSocketFrameReader.PeekLength(new ReadOnlySequence<byte>([0x10, 0xFF])));
        Assert.Equal(65535, AudioSocketFrameReader.PeekLength(Segments.Split([0x10, 0xFF, 0xFF], 1, 2)));
        Assert.Equal(320, AudioSocketFrameReader.PeekLength(new ReadOnlySequence<byte>([0x10, 0x01, 0x40])));
        Assert.False(AudioSocketFrameReader.TryRead(new ReadOnlySequence<byte>([0x10, 0xFF, 0xFF]), out _, out _));
    }

    [Fact]
    public void Reads_the_uuid_in_rfc4122_byte_order()
    {
        Assert.True(AudioSocketFrameReader.TryRead(Segments.Split(UuidFrame, 9), out var frame, out _));
        Assert.True(AudioSocketFrameReader.TryReadUuid(frame.Payload, out var id));
        Assert.Equal(Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e"), id);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(15)]
    [InlineData(17)]
    public void Refuses_a_uuid_payload_that_is_not_16_bytes(int length)
    {
        Assert.False(AudioSocketFrameReader.TryReadUuid(new ReadOnlySequence<byte>(new byte[length]), out var id));
        Assert.Equal(Guid.Empty, id);
    }

    internal static byte[] Frame(AudioSocketKind kind, byte[] payload) =>
        [(byte)kind, (byte)(payload.Length >> 8), (byte)payload.Length, .. payload];
}
