using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Text;
using AstraPbx.Audio.Codecs;
using AstraPbx.Contracts.Media;

namespace AstraPbx.Simulators.Gateway;

/// <summary>The <see cref="GatewayBehavior.PipecatLike"/> behaviour: paced speech, interruption, the end by a 1000
/// close, and the record of what the relay sent (caller audio, DTMF, <c>stop</c>).</summary>
public sealed partial class GatewaySession
{
    /// <summary>A frame whose mean absolute sample is above this (about -40 dBFS) is caller speech.</summary>
    private const int SpeechLevel = 328;

    private readonly Lock _recordLock = new();
    private readonly MemoryStream _callerAudio = new();
    private readonly StringBuilder _dtmf = new();
    private readonly TaskCompletionSource _stopReceived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private PacedSpeaker? _speaker;

    /// <summary>The DTMF digits the relay sent, in order (any behaviour).</summary>
    public string Dtmf
    {
        get
        {
            lock (_recordLock)
            {
                return _dtmf.ToString();
            }
        }
    }

    /// <summary>Completes when the relay sends <c>stop</c> (any behaviour).</summary>
    public Task StopReceived => _stopReceived.Task;

    /// <summary>40 ms chunks of bot audio sent by <see cref="SpeakAsync"/> so far.</summary>
    public long ChunksSent => _speaker?.ChunksSent ?? 0;

    /// <summary>PCM bytes of bot audio sent by <see cref="SpeakAsync"/> so far.</summary>
    public long BytesSpoken => _speaker?.BytesSent ?? 0;

    /// <summary>True while an utterance is being sent.</summary>
    public bool Speaking => _speaker?.Speaking ?? false;

    /// <summary>The caller audio received so far as PCM 16-bit LE at <see cref="SampleRate"/> (decoded from mu-law in
    /// Twilio mode). Recorded by <see cref="GatewayBehavior.PipecatLike"/> only.</summary>
    public byte[] CallerAudio()
    {
        lock (_recordLock)
        {
            return _callerAudio.ToArray();
        }
    }

    /// <summary>Queues an utterance (PCM 16-bit LE at <see cref="SampleRate"/>), sent in 40 ms chunks at real time
    /// after what is already queued: binary frames in binary mode, <c>media</c> events (base64 mu-law) in Twilio mode.
    /// True once all of it is sent; false if it was interrupted or the session closed first.</summary>
    /// <exception cref="InvalidOperationException">The behaviour is not <see cref="GatewayBehavior.PipecatLike"/>.</exception>
    public Task<bool> SpeakAsync(ReadOnlyMemory<byte> pcm) => Speaker.Speak(pcm);

    /// <summary>An interruption (the caller barged in): drops the utterance in progress and the queued ones, then
    /// sends <c>clear</c>. No chunk of the dropped audio follows the <c>clear</c>.</summary>
    /// <exception cref="InvalidOperationException">The behaviour is not <see cref="GatewayBehavior.PipecatLike"/>.</exception>
    public Task InterruptAsync()
    {
        Speaker.Interrupt();
        return SendClearAsync();
    }

    /// <summary>Pipecat's <c>EndFrame</c>: once the audio queued before it is sent, closes the WebSocket with 1000.
    /// Completes when the close is sent (false if the session closed first).</summary>
    /// <exception cref="InvalidOperationException">The behaviour is not <see cref="GatewayBehavior.PipecatLike"/>.</exception>
    public Task<bool> EndAsync() => Speaker.End();

    private PacedSpeaker Speaker => _speaker
        ?? throw new InvalidOperationException("Only a session with the PipecatLike behaviour speaks paced, interrupts or ends.");

    private void StartSpeaking(CancellationToken ended)
    {
        // 40 ms of 16-bit PCM at the session's rate: 640 bytes at 8 kHz (Twilio mode's mu-law carries 320), 1280 at 16 kHz.
        _speaker = new PacedSpeaker(_options.TimeProvider, SampleRate / 1000 * (int)PacedSpeaker.Chunk.TotalMilliseconds * 2);
        _ = _speaker.RunAsync(SendChunkAsync, () => CloseAsync(WebSocketCloseStatus.NormalClosure, ""), ended);
        if (_options.PlayPcm is { } greeting)
        {
            _ = _speaker.Speak(greeting);
        }
    }

    private async Task<bool> SendChunkAsync(ReadOnlyMemory<byte> pcm, int generation)
    {
        var speaker = _speaker!;
        try
        {
            if (Mode == MediaMode.AstraPbxBinary)
            {
                return await SendAsync(pcm, WebSocketMessageType.Binary, () => speaker.Generation == generation).ConfigureAwait(false);
            }

            var ulaw = new byte[pcm.Length / 2];
            MuLaw.EncodePcm16(pcm.Span[..(ulaw.Length * 2)], ulaw);
            var json = Encoding.UTF8.GetBytes(GatewayJson.MediaJson(StreamSid, Convert.ToBase64String(ulaw)));
            return await SendAsync(json, WebSocketMessageType.Text, () => speaker.Generation == generation).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException or IOException)
        {
            return false;
        }
    }

    private void OnCallerAudio(ReadOnlySpan<byte> pcm)
    {
        if (_speaker is null)
        {
            return;
        }

        lock (_recordLock)
        {
            _callerAudio.Write(pcm);
        }

        if (_options.InterruptOnCallerSpeech && _speaker.Speaking && IsSpeech(pcm))
        {
            _ = BargeInAsync();
        }
    }

    private async Task BargeInAsync()
    {
        try
        {
            await InterruptAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException or IOException)
        {
            // The relay went meanwhile: nothing left to clear.
        }
    }

    private void OnCallerMuLaw(string base64)
    {
        if (_speaker is null)
        {
            return;
        }

        byte[] ulaw;
        try
        {
            ulaw = Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            Errors.Enqueue("media payload is not base64");
            return;
        }

        var pcm = new byte[ulaw.Length * 2];
        MuLaw.DecodeToPcm16(ulaw, pcm);
        OnCallerAudio(pcm);
    }

    /// <summary>Records <c>dtmf</c> and <c>stop</c>; every other event (<c>mark</c>, <c>connected</c>...) is ignored,
    /// as a stock Pipecat serializer ignores it.</summary>
    private void OnControl(ReadOnlyMemory<byte> json)
    {
        using var document = GatewayJson.TryParse(json);
        if (document is null)
        {
            return;
        }

        var root = document.RootElement;
        switch (GatewayJson.Str(root, "event"))
        {
            case "dtmf" when root.TryGetProperty("dtmf", out var dtmf) && GatewayJson.Str(dtmf, "digit") is { } digit:
                lock (_recordLock)
                {
                    _dtmf.Append(digit);
                }

                break;
            case "stop":
                _stopReceived.TrySetResult();
                break;
        }
    }

    private static bool IsSpeech(ReadOnlySpan<byte> pcm)
    {
        var samples = pcm.Length / 2;
        if (samples == 0)
        {
            return false;
        }

        long sum = 0;
        for (var i = 0; i < samples; i++)
        {
            sum += Math.Abs((int)BinaryPrimitives.ReadInt16LittleEndian(pcm[(i * 2)..]));
        }

        return sum / samples > SpeechLevel;
    }
}
