using AstraPbx.Audio.AudioSocket;
using AstraPbx.MediaRelay.Media;
using BenchmarkDotNet.Attributes;

namespace AstraPbx.Benchmarks;

/// <summary>The jitter buffer's per-tick cost: one 20 ms frame in from the gateway, one frame out to Asterisk, with
/// the drift-correction bookkeeping (speech detection on the played frame, the window check). 0 B per frame.</summary>
[MemoryDiagnoser]
public class JitterBufferBenchmarks
{
    private readonly byte[] _speech = new byte[AudioSocketFormat.SlinFrameBytes];
    private readonly byte[] _frame = new byte[AudioSocketFormat.SlinFrameBytes];
    private JitterBuffer _steady = null!;

    [GlobalSetup]
    public void Setup()
    {
        new Random(3).NextBytes(_speech);
        _steady = new JitterBuffer(targetMs: 40, capMs: 120_000);
        _steady.Write(_speech);
        _steady.Write(_speech);
    }

    [Benchmark(Description = "jitter buffer: write 320 B + play one frame (steady stream)")]
    public bool WriteAndPlay()
    {
        _steady.Write(_speech);
        return _steady.ReadFrame(_frame);
    }

    [Benchmark(Description = "speech detection on one played 320 B frame (DriftCorrector.IsSpeech)")]
    public bool IsSpeech() => DriftCorrector.IsSpeech(_speech);

    /// <summary>The baseline: the sample-by-sample mean the corrector used before it was vectorised (session 22).</summary>
    [Benchmark(Description = "speech detection, sample by sample (before)")]
    public bool IsSpeechSampleBySample()
    {
        var samples = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, short>(_speech.AsSpan());
        long sum = 0;
        foreach (var sample in samples)
        {
            sum += Math.Abs((int)sample);
        }

        return sum > (long)DriftCorrector.SpeechLevel * samples.Length;
    }
}
