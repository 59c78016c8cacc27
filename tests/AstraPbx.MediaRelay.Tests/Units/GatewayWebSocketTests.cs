using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Text;
using AstraPbx.MediaRelay.Gateway;
using Xunit;

namespace AstraPbx.MediaRelay.Tests.Units;

/// <summary>The relay's own WebSocket client for the gateway: the bot's frames, however TCP cuts them, come out as the
/// messages the bot sent; pings are answered, closes reported, and a frame that breaks RFC 6455 ends the read with an
/// error that says what was wrong.</summary>
public sealed class GatewayWebSocketTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    /// <summary>A frame as a server writes it (never masked, unless a test says so).</summary>
    private static byte[] ServerFrame(int opcode, byte[] payload, bool fin = true, int reserved = 0, bool masked = false)
    {
        var header = new List<byte> { (byte)((fin ? 0x80 : 0) | reserved << 4 | opcode) };
        var maskBit = masked ? 0x80 : 0;
        if (payload.Length < 126)
        {
            header.Add((byte)(maskBit | payload.Length));
        }
        else if (payload.Length <= ushort.MaxValue)
        {
            header.Add((byte)(maskBit | 126));
            header.AddRange(BitConverter.GetBytes(BinaryPrimitives.ReverseEndianness((ushort)payload.Length)));
        }
        else
        {
            header.Add((byte)(maskBit | 127));
            header.AddRange(BitConverter.GetBytes(BinaryPrimitives.ReverseEndianness((ulong)payload.Length)));
        }

        if (masked)
        {
            header.AddRange(new byte[4]); // a zero mask: the payload reads the same
        }

        return [.. header, .. payload];
    }

    private static byte[] Close(int status, string reason = "")
    {
        var payload = new byte[2 + Encoding.UTF8.GetByteCount(reason)];
        BinaryPrimitives.WriteUInt16BigEndian(payload, (ushort)status);
        Encoding.UTF8.GetBytes(reason, payload.AsSpan(2));
        return ServerFrame(0x8, payload);
    }

    private static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static (FakeConnection Connection, GatewayWebSocket Socket) Open()
    {
        var connection = new FakeConnection();
        return (connection, new GatewayWebSocket(new GatewayStream(connection, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1))));
    }

    /// <summary>Receives whole messages (each piece at most <paramref name="bufferBytes"/>) until the close.</summary>
    private static async Task<List<(WebSocketMessageType Type, byte[] Payload)>> ReceiveAllAsync(WebSocket socket, int bufferBytes)
    {
        var messages = new List<(WebSocketMessageType, byte[])>();
        var buffer = new byte[bufferBytes];
        var message = new List<byte>();
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None).AsTask().WaitAsync(Wait);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return messages;
            }

            Assert.InRange(result.Count, 0, bufferBytes);
            message.AddRange(buffer.AsSpan(0, result.Count).ToArray());
            if (result.EndOfMessage)
            {
                messages.Add((result.MessageType, message.ToArray()));
                message.Clear();
            }
        }
    }

    [Theory]
    [InlineData(1, 1024)]
    [InlineData(2, 1024)]
    [InlineData(3, 7)]
    [InlineData(7, 2048)]
    [InlineData(139, 2048)]
    [InlineData(4096, 2048)]
    [InlineData(100_000, 320)]
    public async Task Frames_cut_anywhere_come_out_as_the_messages_sent(int chunk, int bufferBytes)
    {
        var audio = Bytes(640, 1);
        var burst = Bytes(70_000, 2); // a 64-bit length
        var medium = Bytes(300, 3); // a 16-bit length
        var ping = Encoding.ASCII.GetBytes("are you there");
        var stream = new List<byte>();
        stream.AddRange(ServerFrame(0x2, audio));
        stream.AddRange(ServerFrame(0x1, Encoding.UTF8.GetBytes("""{"event":"ma"""), fin: false));
        stream.AddRange(ServerFrame(0x9, ping)); // a ping inside a fragmented message
        stream.AddRange(ServerFrame(0xA, [1, 2])); // an unsolicited pong: dropped
        stream.AddRange(ServerFrame(0x0, Encoding.UTF8.GetBytes("""rk"}"""), fin: true));
        stream.AddRange(ServerFrame(0x2, [])); // an empty message
        stream.AddRange(ServerFrame(0x2, burst));
        stream.AddRange(ServerFrame(0x2, medium[..100], fin: false));
        stream.AddRange(ServerFrame(0x0, [], fin: false));
        stream.AddRange(ServerFrame(0x0, medium[100..], fin: true));
        stream.AddRange(Close(1000, "done, thanks"));
        var (connection, socket) = Open();
        var bytes = stream.ToArray();
        for (var i = 0; i < bytes.Length; i += chunk)
        {
            connection.Feed(bytes[i..Math.Min(bytes.Length, i + chunk)]);
        }

        var messages = await ReceiveAllAsync(socket, bufferBytes);

        Assert.Equal(
            [WebSocketMessageType.Binary, WebSocketMessageType.Text, WebSocketMessageType.Binary, WebSocketMessageType.Binary, WebSocketMessageType.Binary],
            messages.Select(m => m.Type));
        Assert.Equal(audio, messages[0].Payload);
        Assert.Equal("""{"event":"mark"}""", Encoding.UTF8.GetString(messages[1].Payload));
        Assert.Empty(messages[2].Payload);
        Assert.Equal(burst, messages[3].Payload);
        Assert.Equal(medium, messages[4].Payload);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
        Assert.Equal("done, thanks", socket.CloseStatusDescription);
        Assert.Equal(WebSocketState.CloseReceived, socket.State);
        var pong = FakeConnection.ParseClientFrame(Assert.Single(connection.Written));
        Assert.Equal((true, 0xA), (pong.Fin, pong.Opcode));
        Assert.Equal(ping, pong.Payload);
    }

    [Fact]
    public async Task Several_messages_in_one_read_are_received_without_another_read()
    {
        // A tick after a late one finds several 20 ms messages queued: one read takes them all, and each receive after
        // it completes at once.
        var (connection, socket) = Open();
        var frames = Enumerable.Range(0, 4).Select(i => ServerFrame(0x2, Bytes(320, i))).ToArray();
        connection.Feed(frames.SelectMany(f => f).ToArray());
        var buffer = new byte[2048];

        Assert.Equal(320, (await socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None).AsTask().WaitAsync(Wait)).Count);
        for (var i = 1; i < 4; i++)
        {
            var receive = socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
            Assert.True(receive.IsCompletedSuccessfully, $"message {i} was buffered");
            Assert.Equal(Bytes(320, i), buffer.AsSpan(0, (await receive).Count).ToArray());
        }

        Assert.False(socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None).IsCompleted);
    }

    [Theory]
    [InlineData(new byte[0], WebSocketCloseStatus.NormalClosure, "")]
    [InlineData(new byte[] { 0x03, 0xE9 }, WebSocketCloseStatus.EndpointUnavailable, "")]
    [InlineData(new byte[] { 0x03, 0xF3, (byte)'o', (byte)'o', (byte)'p', (byte)'s' }, WebSocketCloseStatus.InternalServerError, "oops")]
    [InlineData(new byte[] { 0x03, 0xEB }, WebSocketCloseStatus.InvalidMessageType, "")]
    [InlineData(new byte[] { 0x0B, 0xB8 }, (WebSocketCloseStatus)3000, "")]
    [InlineData(new byte[] { 0x0F, 0xA0 }, (WebSocketCloseStatus)4000, "")]
    public async Task A_close_reports_its_status_and_reason(byte[] payload, WebSocketCloseStatus status, string reason)
    {
        var (connection, socket) = Open();
        connection.Feed(ServerFrame(0x8, payload));

        var result = await socket.ReceiveAsync(new byte[16].AsMemory(), CancellationToken.None).AsTask().WaitAsync(Wait);

        Assert.Equal(WebSocketMessageType.Close, result.MessageType);
        Assert.Equal(status, socket.CloseStatus);
        Assert.Equal(reason, socket.CloseStatusDescription);
    }

    [Fact]
    public async Task The_close_handshake_from_either_side_ends_closed()
    {
        var (connection, socket) = Open();

        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None).WaitAsync(Wait);
        Assert.Equal(WebSocketState.CloseSent, socket.State);
        var close = FakeConnection.ParseClientFrame(Assert.Single(connection.Written));
        Assert.Equal(0x8, close.Opcode);
        Assert.Equal(1000, BinaryPrimitives.ReadUInt16BigEndian(close.Payload));
        Assert.Equal("bye", Encoding.UTF8.GetString(close.Payload.AsSpan(2)));

        // Audio still in flight is received after the close went out, then the bot's close.
        connection.Feed([.. ServerFrame(0x2, [1, 2, 3, 4]), .. Close(1000)]);
        var messages = await ReceiveAllAsync(socket, 64);
        Assert.Equal([1, 2, 3, 4], Assert.Single(messages).Payload);
        Assert.Equal(WebSocketState.Closed, socket.State);

        // The other way round: the bot's close first, then ours.
        (connection, socket) = Open();
        connection.Feed(Close(1001));
        await ReceiveAllAsync(socket, 64);
        Assert.Equal(WebSocketState.CloseReceived, socket.State);
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None).WaitAsync(Wait);
        Assert.Equal(WebSocketState.Closed, socket.State);
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ReceiveAsync(new byte[16].AsMemory(), CancellationToken.None).AsTask());
    }

    public static TheoryData<string, byte[]> Violations => new()
    {
        { "masked", ServerFrame(0x2, [1, 2], masked: true) },
        { "reserved bits", ServerFrame(0x2, [1, 2], reserved: 4) },
        { "reserved bits", ServerFrame(0x1, [1, 2], reserved: 1) },
        { "unknown opcode 3", ServerFrame(0x3, [1, 2]) },
        { "unknown opcode 11", ServerFrame(0xB, []) },
        { "fragmented control", ServerFrame(0x9, [1], fin: false) },
        { "control frame of 126 bytes", ServerFrame(0xA, new byte[126]) },
        { "continuation frame with no message", ServerFrame(0x0, [1, 2]) },
        { "new data message inside a fragmented one", [.. ServerFrame(0x1, [(byte)'{'], fin: false), .. ServerFrame(0x2, [1])] },
        { "one-byte payload", ServerFrame(0x8, [3]) },
        { "status 1005", Close(1005) },
        { "status 999", Close(999) },
        { "status 2000", Close(2000) },
        { "not UTF-8", ServerFrame(0x8, [0x03, 0xE8, 0xFF, 0xFE]) },
        { "top bit set", [0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1] },
    };

    [Theory]
    [MemberData(nameof(Violations))]
    public async Task A_frame_that_breaks_the_protocol_ends_the_read_with_what_was_wrong(string fault, byte[] bytes)
    {
        var (connection, socket) = Open();
        connection.Feed(bytes);
        var buffer = new byte[64];

        var error = await Assert.ThrowsAsync<WebSocketException>(async () =>
        {
            while (true)
            {
                await socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None).AsTask().WaitAsync(Wait);
            }
        });

        Assert.Contains(fault, error.Message);
        Assert.Contains("protocol error from the gateway", error.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(100)]
    public async Task A_connection_that_ends_early_is_an_error_that_says_where(int sent)
    {
        var (connection, socket) = Open();
        var frame = ServerFrame(0x2, Bytes(200, 5));
        connection.Feed(frame[..sent]);
        connection.Feed([]);
        var buffer = new byte[1024];

        var error = await Assert.ThrowsAsync<WebSocketException>(async () =>
        {
            while (true)
            {
                await socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None).AsTask().WaitAsync(Wait);
            }
        });

        Assert.Equal(WebSocketError.ConnectionClosedPrematurely, error.WebSocketErrorCode);
        Assert.Contains(sent == 0 ? "without a WebSocket close" : "inside a WebSocket frame", error.Message);
    }

    [Fact]
    public async Task A_real_websocket_server_and_the_client_talk_both_ways()
    {
        var (client, server) = GatewayStreamTests.DuplexPair();
        using var socket = new GatewayWebSocket(new GatewayStream(client, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)));
        using var peer = WebSocket.CreateFromStream(server, new WebSocketCreationOptions { IsServer = true });
        var burst = Bytes(50_000, 7);

        await socket.SendAsync(Encoding.UTF8.GetBytes("""{"event":"start"}""").AsMemory(), WebSocketMessageType.Text, true, CancellationToken.None);
        var received = new byte[64];
        var start = await peer.ReceiveAsync(received.AsMemory(), CancellationToken.None).AsTask().WaitAsync(Wait);
        Assert.Equal("""{"event":"start"}""", Encoding.UTF8.GetString(received, 0, start.Count));

        await peer.SendAsync(burst.AsMemory(0, 20_000), WebSocketMessageType.Binary, false, CancellationToken.None);
        await peer.SendAsync(burst.AsMemory(20_000), WebSocketMessageType.Binary, true, CancellationToken.None);
        await peer.CloseOutputAsync(WebSocketCloseStatus.InternalServerError, "bot crashed", CancellationToken.None);
        var messages = await ReceiveAllAsync(socket, 2048);

        Assert.Equal(burst, Assert.Single(messages).Payload);
        Assert.Equal(WebSocketCloseStatus.InternalServerError, socket.CloseStatus);
        Assert.Equal("bot crashed", socket.CloseStatusDescription);
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
        var close = await peer.ReceiveAsync(received.AsMemory(), CancellationToken.None).AsTask().WaitAsync(Wait);
        Assert.Equal(WebSocketMessageType.Close, close.MessageType);
        Assert.Equal(WebSocketState.Closed, peer.State);
    }
}
