using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using AstraPbx.Audio.AudioSocket;
using AstraPbx.Contracts.Calls;
using AstraPbx.Testing;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;

namespace AstraPbx.AriIngress.Tests;

/// <summary>What the ingress published, as a consumer on the real broker sees it, with the time it arrived and the
/// trace id it was consumed under.</summary>
internal sealed class BusRecorder
{
    public ConcurrentQueue<(CallEnteredStasis Message, long At, ActivityTraceId TraceId)> Entered { get; } = new();

    public ConcurrentQueue<CallEnded> Ended { get; } = new();

    public ConcurrentQueue<FallbackTaken> Fallbacks { get; } = new();

    public static async Task<(TestBus Bus, BusRecorder Recorder)> StartAsync(string rabbitmq)
    {
        var recorder = new BusRecorder();
        var bus = await TestBus.StartAsync(rabbitmq, x => x.AddConsumer<RecorderConsumer>(), s => s.AddSingleton(recorder));
        return (bus, recorder);
    }

    public Task<CallEnteredStasis> EnteredAsync(string callId, TimeSpan? timeout = null) =>
        Eventually.Until(() => Task.FromResult(Entered.FirstOrDefault(e => e.Message.CallId == callId).Message),
            m => m is not null, timeout ?? TimeSpan.FromSeconds(30), $"CallEnteredStasis for {callId}")!;

    public Task<CallEnded> EndedAsync(string callId) =>
        Eventually.Until(() => Task.FromResult(Ended.FirstOrDefault(e => e.CallId == callId)),
            m => m is not null, TimeSpan.FromSeconds(30), $"CallEnded for {callId}")!;

    public Task<FallbackTaken> FallbackAsync(string callId, TimeSpan timeout) =>
        Eventually.Until(() => Task.FromResult(Fallbacks.FirstOrDefault(e => e.Entry.CallId == callId)),
            m => m is not null, timeout, $"FallbackTaken for {callId}")!;

    public int EndedCount(string callId) => Ended.Count(e => e.CallId == callId);

    public int EnteredCount(string callId) => Entered.Count(e => e.Message.CallId == callId);
}

internal sealed class RecorderConsumer(BusRecorder recorder) : IConsumer<CallEnteredStasis>, IConsumer<CallEnded>, IConsumer<FallbackTaken>
{
    public Task Consume(ConsumeContext<FallbackTaken> context)
    {
        recorder.Fallbacks.Enqueue(context.Message);
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<CallEnteredStasis> context)
    {
        recorder.Entered.Enqueue((context.Message, Stopwatch.GetTimestamp(), Activity.Current?.TraceId ?? default));
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<CallEnded> context)
    {
        recorder.Ended.Enqueue(context.Message);
        return Task.CompletedTask;
    }
}

/// <summary>A stand-in media relay: accepts AudioSocket connections, reads the UUID frame, counts (and discards) what
/// follows it, and can hang up (0x00).</summary>
internal sealed class FakeRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentDictionary<Guid, TaskCompletionSource<Socket>> _sessions = new();
    private readonly ConcurrentDictionary<Guid, long> _bytesAfterUuid = new();
    private readonly ConcurrentDictionary<Guid, TaskCompletionSource<(AudioSocketKind Kind, int Length)>> _firstAudio = new();

    public FakeRelay()
    {
        _listener.Start();
        _ = AcceptAsync();
    }

    public string Endpoint => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Completes with the connection once Asterisk dialled and sent <paramref name="sessionId"/>.</summary>
    public Task<Socket> ConnectedAsync(Guid sessionId) => _sessions.GetOrAdd(sessionId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>The kind and payload length of the first audio frame after the UUID frame.</summary>
    public Task<(AudioSocketKind Kind, int Length)> FirstAudioAsync(Guid sessionId) =>
        _firstAudio.GetOrAdd(sessionId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>Bytes the caller sent after its UUID frame (audio and DTMF frames).</summary>
    public long BytesAfterUuid(Guid sessionId) => _bytesAfterUuid.GetValueOrDefault(sessionId);

    public static async Task HangUpAsync(Socket socket)
    {
        var writer = new ArrayBufferWriter<byte>();
        AudioSocketFrameWriter.WriteHangup(writer);
        await socket.SendAsync(writer.WrittenMemory);
    }

    private async Task AcceptAsync()
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = ReadUuidAsync(socket);
        }
    }

    private async Task ReadUuidAsync(Socket socket)
    {
        var reader = PipeReader.Create(new NetworkStream(socket, ownsSocket: false));
        while (true)
        {
            var result = await reader.ReadAsync();
            var buffer = result.Buffer;
            if (AudioSocketFrameReader.TryRead(buffer, out var frame, out var afterUuid) && frame.Kind == AudioSocketKind.Uuid
                && AudioSocketFrameReader.TryReadUuid(frame.Payload, out var id))
            {
                _bytesAfterUuid[id] = buffer.Slice(afterUuid).Length;
                _sessions.GetOrAdd(id, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(socket);

                // Keep reading (and discarding) the caller's audio so the connection stays healthy; note the first
                // audio frame's kind and length on the way.
                var first = FirstAudioAsync(id) is { IsCompleted: false } ? _firstAudio[id] : null;
                var pending = buffer.Slice(afterUuid);
                try
                {
                    while (true)
                    {
                        while (first is not null && AudioSocketFrameReader.TryRead(pending, out var next, out var after))
                        {
                            if (next.Kind != AudioSocketKind.Dtmf)
                            {
                                first.TrySetResult((next.Kind, (int)next.Payload.Length));
                                first = null;
                            }

                            pending = pending.Slice(after);
                        }

                        var kept = first is null ? 0 : pending.Length;
                        reader.AdvanceTo(first is null ? pending.End : pending.Start, pending.End);
                        var more = await reader.ReadAsync();
                        var fresh = more.Buffer.Length - kept;
                        _bytesAfterUuid.AddOrUpdate(id, fresh, (_, n) => n + fresh);
                        pending = more.Buffer;
                        if (more.IsCompleted)
                        {
                            return;
                        }
                    }
                }
                catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
                {
                    return;
                }
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                return;
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        _listener.Stop();
        return ValueTask.CompletedTask;
    }
}
