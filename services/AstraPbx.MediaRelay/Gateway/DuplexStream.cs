namespace AstraPbx.MediaRelay.Gateway;

/// <summary>A read-write stream that cannot seek: the gateway's streams (<see cref="TickedSocketStream"/> over the
/// socket, <see cref="WrappingStream"/>s over it).</summary>
internal abstract class DuplexStream : Stream
{
    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
