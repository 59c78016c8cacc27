using System.IO.Pipelines;
using System.Net.Sockets;
using AstraPbx.Audio.AudioSocket;

namespace AstraPbx.Simulators.AudioSocket;

/// <summary>The load tool's path: frames sent by a shared <see cref="CallerPacer"/> instead of a loop per caller.</summary>
public sealed partial class AudioSocketCaller
{
    /// <summary>One paced frame, called by the <see cref="CallerPacer"/>'s thread: never blocks it. If the previous
    /// write has not finished (the socket is full) this tick's frame is skipped and counted.</summary>
    internal void SendPacedFrame()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        if (!_writeLock.Wait(0))
        {
            Interlocked.Increment(ref _framesSkipped);
            return;
        }

        var release = true;
        try
        {
            _source.Fill(_pacedFrame, FramesSent);
            AudioSocketFrameWriter.Write(_output, Kind, _pacedFrame);
            var flush = _output.FlushAsync();
            if (flush.IsCompletedSuccessfully)
            {
                if (!flush.Result.IsCompleted)
                {
                    Interlocked.Increment(ref _framesSent);
                    MarkActivity();
                }
            }
            else
            {
                release = false;
                _ = CompletePacedFlushAsync(flush);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            _ended.TrySetResult(CallerEnd.ConnectionLost);
        }
        finally
        {
            if (release)
            {
                _writeLock.Release();
            }
        }
    }

    private async Task CompletePacedFlushAsync(ValueTask<FlushResult> flush)
    {
        try
        {
            if (!(await flush.ConfigureAwait(false)).IsCompleted)
            {
                Interlocked.Increment(ref _framesSent);
                MarkActivity();
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            _ended.TrySetResult(CallerEnd.ConnectionLost);
        }
        finally
        {
            _writeLock.Release();
        }
    }
}
