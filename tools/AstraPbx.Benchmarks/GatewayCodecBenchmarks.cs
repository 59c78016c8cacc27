using System.Buffers;
using AstraPbx.Contracts.Media;
using AstraPbx.MediaRelay.Caller;
using AstraPbx.MediaRelay.Gateway;
using BenchmarkDotNet.Attributes;

namespace AstraPbx.Benchmarks;

/// <summary>The gateway side of one 20 ms frame: caller PCM to Twilio <c>media</c> JSON, and bot <c>media</c> JSON to
/// PCM (with the pooled buffer the gateway leg rents for it). 0 B per frame.</summary>
[MemoryDiagnoser]
public class GatewayCodecBenchmarks
{
    private readonly byte[] _pcm = new byte[320];
    private GatewayMediaCodec _twilio = null!;
    private byte[] _mediaJson = null!;

    [GlobalSetup]
    public void Setup()
    {
        new Random(4).NextBytes(_pcm);
        _twilio = GatewayMediaCodec.Create(MediaMode.Twilio, "asterisk_1700000000.42", CallerLeg.MaxPayloadFromCaller);
        _mediaJson = _twilio.EncodeAudio(_pcm).ToArray();
    }

    [Benchmark(Description = "twilio: 320 B PCM -> media JSON")]
    public int EncodeMedia() => _twilio.EncodeAudio(_pcm).Length;

    [Benchmark(Description = "twilio: media JSON -> 320 B PCM")]
    public int DecodeMedia()
    {
        var pcm = ArrayPool<byte>.Shared.Rent(GatewayMediaCodec.MaxPcmLength(_mediaJson.Length));
        try
        {
            return _twilio.DecodeText(_mediaJson, pcm).Pcm.Length;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(pcm);
        }
    }
}
