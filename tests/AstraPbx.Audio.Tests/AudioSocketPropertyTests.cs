using System.Buffers;
using AstraPbx.Audio.AudioSocket;
using CsCheck;
using Xunit;

namespace AstraPbx.Audio.Tests;

public sealed class AudioSocketPropertyTests
{
    /// <summary>Any frame the writer accepts reads back identical, however the bytes are cut into segments.</summary>
    [Fact]
    public void Written_frames_read_back_identical_across_any_segmentation()
    {
        var frames = Gen.Select(Gen.Byte, Gen.Byte.Array[0, 700])
            .Where(f => f.Item2.Length > 0 || !AudioSocketFormat.IsAudio((AudioSocketKind)f.Item1))
            .Array[1, 6];
        Gen.Select(frames, Gen.Int[0, int.MaxValue]).Sample(input =>
        {
            var (list, seed) = input;
            var output = new ArrayBufferWriter<byte>();
            foreach (var (kind, payload) in list)
            {
                AudioSocketFrameWriter.Write(output, (AudioSocketKind)kind, payload);
            }

            var bytes = output.WrittenSpan.ToArray();
            var buffer = Segments.Split(bytes, RandomCuts(bytes.Length, seed));
            foreach (var (kind, payload) in list)
            {
                Assert.True(AudioSocketFrameReader.TryRead(buffer, out var frame, out var consumed));
                Assert.Equal(kind, (byte)frame.Kind);
                Assert.Equal(payload, frame.Payload.ToArray());
                buffer = buffer.Slice(consumed);
            }

            Assert.True(buffer.IsEmpty);
        }, iter: 2000);
    }

    /// <summary>Random bytes never throw out of the reader; each successful read consumes a whole frame (at least the
    /// 3-byte header, exactly header + announced length), and a refusal means the buffer really holds less than that.</summary>
    [Fact]
    public void Random_bytes_never_throw_and_always_progress_or_ask_for_more()
    {
        Gen.Select(Gen.Byte.Array[0, 2000], Gen.Int[0, int.MaxValue]).Sample(input =>
        {
            var (bytes, seed) = input;
            var buffer = Segments.Split(bytes, RandomCuts(bytes.Length, seed));
            var frames = 0;
            while (true)
            {
                var before = buffer.Length;
                var announced = AudioSocketFrameReader.PeekLength(buffer);
                if (!AudioSocketFrameReader.TryRead(buffer, out var frame, out var consumed))
                {
                    Assert.True(before < 3 || before < 3 + announced, $"refused a whole frame: {before} bytes, announced {announced}");
                    Assert.Equal(buffer.Start, consumed);
                    break;
                }

                var used = buffer.Slice(buffer.Start, consumed).Length;
                Assert.Equal(3 + frame.Length, used);
                Assert.Equal(announced, frame.Length);
                buffer = buffer.Slice(consumed);
                frames++;
                Assert.True(frames <= bytes.Length / 3);
            }
        }, iter: 3000);
    }

    private static int[] RandomCuts(int length, int seed)
    {
        var random = new Random(seed);
        var cuts = new int[random.Next(0, 8)];
        for (var i = 0; i < cuts.Length; i++)
        {
            cuts[i] = random.Next(0, length + 1);
        }

        Array.Sort(cuts);
        return cuts;
    }
}
