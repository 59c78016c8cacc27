using System.Buffers;
using System.IO.Pipelines;
using AstraPbx.Audio.AudioSocket;
using AstraPbx.Audio.Codecs;
using AstraPbx.MediaRelay.Media;
using BenchmarkDotNet.Attributes;

namespace AstraPbx.Benchmarks;

/// <summary>The per-frame hot path of the relay: each must allocate 0 B per 20 ms audio frame.</summary>
[MemoryDiagnoser]
public class AudioFrameBenchmarks
{
    private readonly byte[] _pcm8k = new byte[320];
    private readonly byte[] _pcm16k = new byte[640];
    private readonly byte[] _ulaw = new byte[160];
    private readonly ArrayBufferWriter<byte> _output = new(1024);
    private readonly Pipe _pipe = new(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
    private ReadOnlySequence<byte> _frame;
    private ReadOnlySequence<byte> _splitFrame;

    [GlobalSetup]
    public void Setup()
    {
        new Random(1).NextBytes(_pcm8k);
        new Random(2).NextBytes(_pcm16k);
        MuLaw.EncodePcm16(_pcm8k, _ulaw);
        var output = new ArrayBufferWriter<byte>();
        AudioSocketFrameWriter.Write(output, AudioSocketKind.Slin, _pcm8k);
        var bytes = output.WrittenSpan.ToArray();
        _frame = new ReadOnlySequence<byte>(bytes);
        _splitFrame = TwoSegments(bytes, 100);
    }

    [Benchmark(Description = "read 320 B audio frame")]
    public int ReadFrame()
    {
        AudioSocketFrameReader.TryRead(_frame, out var frame, out _);
        return frame.Length;
    }

    [Benchmark(Description = "read 320 B audio frame, 2 segments")]
    public int ReadSplitFrame()
    {
        AudioSocketFrameReader.TryRead(_splitFrame, out var frame, out _);
        return frame.Length;
    }

    [Benchmark(Description = "write 320 B audio frame")]
    public int WriteFrame()
    {
        _output.ResetWrittenCount();
        AudioSocketFrameWriter.Write(_output, AudioSocketKind.Slin, _pcm8k);
        return _output.WrittenCount;
    }

    [Benchmark(Description = "write frame to Pipe, flush, read, advance")]
    public long WriteFrameThroughPipe()
    {
        AudioSocketFrameWriter.Write(_pipe.Writer, AudioSocketKind.Slin, _pcm8k);
        var flush = _pipe.Writer.FlushAsync();
        if (!flush.IsCompletedSuccessfully)
        {
            flush.AsTask().GetAwaiter().GetResult();
        }

        _pipe.Reader.TryRead(out var result);
        AudioSocketFrameReader.TryRead(result.Buffer, out var frame, out var consumed);
        _pipe.Reader.AdvanceTo(consumed);
        return frame.Length;
    }

    [Benchmark(Description = "mu-law encode 160 samples")]
    public byte MuLawEncode()
    {
        MuLaw.EncodePcm16(_pcm8k, _ulaw);
        return _ulaw[0];
    }

    [Benchmark(Description = "mu-law decode 160 samples")]
    public byte MuLawDecode()
    {
        MuLaw.DecodeToPcm16(_ulaw, _pcm8k);
        return _pcm8k[0];
    }

    [Benchmark(Description = "resample 8 kHz -> 16 kHz frame")]
    public int Upsample() => Resampler.Resample(_pcm8k, 8000, _pcm16k, 16000);

    [Benchmark(Description = "resample 16 kHz -> 8 kHz frame")]
    public int Downsample() => Resampler.Resample(_pcm16k, 16000, _pcm8k, 8000);

    private static ReadOnlySequence<byte> TwoSegments(byte[] bytes, int cut)
    {
        var first = new Segment(bytes.AsMemory(0, cut), 0);
        var second = new Segment(bytes.AsMemory(cut), cut);
        first.SetNext(second);
        return new ReadOnlySequence<byte>(first, 0, second, second.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public void SetNext(Segment next) => Next = next;
    }
}
