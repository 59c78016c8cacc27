using System.Buffers.Binary;
using System.Threading.Channels;
using Xunit;

namespace AstraPbx.MediaRelay.Tests.Units;

/// <summary>A connection whose reads the test feeds (a chunk per feed, split over reads when a read's buffer is
/// smaller; an empty chunk is the end of the stream) and whose writes it keeps.</summary>
internal sealed class FakeConnection : Stream
{
    private readonly Channel<byte[]> _incoming = Channel.CreateUnbounded<byte[]>();
    private ReadOnlyMemory<byte> _rest;

    public List<byte[]> Written { get; } = [];

    public void Feed(byte[] bytes) => _incoming.Writer.TryWrite(bytes);

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_rest.IsEmpty)
        {
            _rest = await _incoming.Reader.ReadAsync(cancellationToken);
        }

        var count = Math.Min(buffer.Length, _rest.Length);
        _rest[..count].CopyTo(buffer);
        _rest = _rest[count..];
        return count;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        lock (Written)
        {
            Written.Add(buffer.ToArray());
        }

        return default;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count));

    /// <summary>A frame the relay wrote, as RFC 6455 says a client writes it (masked), unmasked.</summary>
    public static (bool Fin, int Opcode, byte[] Payload) ParseClientFrame(byte[] frame)
    {
        Assert.True((frame[1] & 0x80) != 0, "a client's frame must be masked");
        var length = (long)(frame[1] & 0x7F);
        var offset = 2;
        if (length == 126)
        {
            length = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(2));
            offset = 4;
        }
        else if (length == 127)
        {
            length = (long)BinaryPrimitives.ReadUInt64BigEndian(frame.AsSpan(2));
            offset = 10;
        }

        var mask = frame.AsSpan(offset, 4).ToArray();
        offset += 4;
        Assert.Equal(offset + length, frame.Length);
        var payload = new byte[length];
        for (var i = 0; i < length; i++)
        {
            payload[i] = (byte)(frame[offset + i] ^ mask[i % 4]);
        }

        return ((frame[0] & 0x80) != 0, frame[0] & 0x0F, payload);
    }
}
