using System.Buffers.Binary;
using System.Net.WebSockets;
using AstraPbx.MediaRelay.Gateway;
using Xunit;

namespace AstraPbx.MediaRelay.Tests.Units;

/// <summary>The stream under the gateway WebSocket: the frames it writes itself (audio, pings) are what RFC 6455 says a
/// client writes, and its keep-alive pings a silent bot and gives up on one that answers nothing.</summary>
public sealed class GatewayStreamTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(13)]
    [InlineData(320)]
    [InlineData(643)]
    public void Mask_matches_the_rfc_byte_by_byte(int length)
    {
        var source = new byte[length];
        Random.Shared.NextBytes(source);
        var destination = new byte[length];
        var mask = new byte[] { 0x12, 0xA5, 0x00, 0xFF };

        GatewayStream.Mask(source, destination, BinaryPrimitives.ReadUInt32LittleEndian(mask));

        for (var i = 0; i < length; i++)
        {
            Assert.Equal((byte)(source[i] ^ mask[i % 4]), destination[i]);
        }
    }

    [Theory]
    [InlineData(WebSocketMessageType.Binary, 320, 0x2)]
    [InlineData(WebSocketMessageType.Binary, 125, 0x2)]
    [InlineData(WebSocketMessageType.Text, 126, 0x1)]
    [InlineData(WebSocketMessageType.Text, 500, 0x1)]
    [InlineData(WebSocketMessageType.Binary, 70_000, 0x2)]
    public async Task A_message_is_one_masked_final_frame_that_unmasks_to_the_payload(WebSocketMessageType type, int length, int opcode)
    {
        var connection = new FakeConnection();
        using var stream = new GatewayStream(connection, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        var payload = new byte[length];
        Random.Shared.NextBytes(payload);

        await stream.SendMessageAsync(type, payload);
        await stream.SendMessageAsync(type, payload);

        Assert.Equal(2, connection.Written.Count);
        foreach (var frame in connection.Written)
        {
            var parsed = FakeConnection.ParseClientFrame(frame);
            Assert.True(parsed.Fin);
            Assert.Equal(opcode, parsed.Opcode);
            Assert.Equal(payload, parsed.Payload);
        }

        // Each frame has a mask of its own.
        var maskOffset = length < 126 ? 2 : length <= ushort.MaxValue ? 4 : 10;
        Assert.NotEqual(connection.Written[0].AsSpan(maskOffset, 4).ToArray(), connection.Written[1].AsSpan(maskOffset, 4).ToArray());
    }

    [Fact]
    public async Task Interleaved_connections_on_one_thread_get_fresh_masks_across_a_pool_refill()
    {
        // The mask pool is per thread: 2,000 frames from two connections, interleaved, cross a refill (1,024 masks) and
        // each still unmasks to its payload, with masks that do not repeat in a row.
        var first = new FakeConnection();
        var second = new FakeConnection();
        using var a = new GatewayStream(first, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        using var b = new GatewayStream(second, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        var payload = new byte[320];
        Random.Shared.NextBytes(payload);

        for (var i = 0; i < 1000; i++)
        {
            await a.SendMessageAsync(WebSocketMessageType.Binary, payload);
            await b.SendMessageAsync(WebSocketMessageType.Binary, payload);
        }

        var masks = new HashSet<uint>();
        foreach (var frame in first.Written.Concat(second.Written))
        {
            Assert.Equal(payload, FakeConnection.ParseClientFrame(frame).Payload);
            masks.Add(BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(4, 4)));
        }

        // 2,000 random 32-bit masks: a handful of collisions at most, never a pool handed out twice.
        Assert.InRange(masks.Count, 1990, 2000);
    }

    [Fact]
    public async Task A_real_websocket_server_reads_the_frames_as_messages()
    {
        var (client, server) = DuplexPair();
        using var stream = new GatewayStream(client, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        using var peer = WebSocket.CreateFromStream(server, new WebSocketCreationOptions { IsServer = true });
        var audio = Enumerable.Range(0, 320).Select(i => (byte)i).ToArray();

        await stream.SendMessageAsync(WebSocketMessageType.Binary, audio);
        await stream.SendMessageAsync(WebSocketMessageType.Text, """{"event":"mark"}"""u8);

        var buffer = new byte[1024];
        var first = await peer.ReceiveAsync(buffer.AsMemory(), CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(WebSocketMessageType.Binary, first.MessageType);
        Assert.True(first.EndOfMessage);
        Assert.Equal(audio, buffer.AsSpan(0, first.Count).ToArray());
        var second = await peer.ReceiveAsync(buffer.AsMemory(), CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(WebSocketMessageType.Text, second.MessageType);
        Assert.Equal("""{"event":"mark"}""", System.Text.Encoding.UTF8.GetString(buffer, 0, second.Count));
    }

    [Fact]
    public void A_silent_bot_is_pinged_after_the_interval_and_given_up_after_the_timeout()
    {
        var connection = new FakeConnection();
        using var stream = new GatewayStream(connection, TimeSpan.FromMilliseconds(1000), TimeSpan.FromMilliseconds(500));
        var start = Environment.TickCount64;

        Assert.True(stream.Check(start + 100));
        Assert.Empty(connection.Written);

        Assert.True(stream.Check(start + 1100));
        var ping = Assert.Single(connection.Written);
        var parsed = FakeConnection.ParseClientFrame(ping);
        Assert.Equal(0x9, parsed.Opcode);
        Assert.Equal(8, parsed.Payload.Length);
        Assert.Equal(1, stream.Pings);

        Assert.True(stream.Check(start + 1500));
        Assert.Single(connection.Written);
        Assert.False(stream.Check(start + 1700));
    }

    [Fact]
    public async Task Any_bytes_from_the_bot_answer_a_ping()
    {
        var connection = new FakeConnection();
        using var stream = new GatewayStream(connection, TimeSpan.Zero, TimeSpan.FromMilliseconds(200));
        Assert.True(stream.Check(Environment.TickCount64));
        Assert.Single(connection.Written);

        connection.Feed([0x8A, 0x00]); // a pong
        var buffer = new byte[16];
        Assert.Equal(2, await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10)));

        // Answered: long past the timeout the gateway is still alive, and the next check pings again.
        var later = Environment.TickCount64 + 10_000;
        Assert.True(stream.Check(later));
        Assert.True(stream.Check(later));
        Assert.Equal(2, connection.Written.Count);
    }

    [Fact]
    public async Task Audio_flowing_from_the_bot_means_no_ping_at_all()
    {
        var connection = new FakeConnection();
        using var stream = new GatewayStream(connection, TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(200));
        var buffer = new byte[16];
        for (var i = 0; i < 3; i++)
        {
            connection.Feed([0x82, 0x01, 0x00]);
            await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.True(stream.Check(Environment.TickCount64 + 100));
        }

        Assert.Empty(connection.Written);
        Assert.Equal(0, stream.Pings);
    }

    internal static (Stream Client, Stream Server) DuplexPair()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var client = new System.Net.Sockets.TcpClient();
        client.Connect((System.Net.IPEndPoint)listener.LocalEndpoint);
        var server = listener.AcceptTcpClient();
        listener.Stop();
        return (client.GetStream(), server.GetStream());
    }
}
