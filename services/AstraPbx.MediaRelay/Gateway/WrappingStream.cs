namespace AstraPbx.MediaRelay.Gateway;

/// <summary>A <see cref="DuplexStream"/> over <paramref name="inner"/>: flushes and disposal go to it. The
/// gateway's stream layers (<see cref="GatewayStream"/>, <see cref="PrefixedStream"/>) derive from it and add their
/// reads and writes.</summary>
internal abstract class WrappingStream(Stream inner) : DuplexStream
{
    /// <summary>The stream under this one.</summary>
    protected Stream Inner { get; } = inner;

    public override void Flush() => Inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => Inner.FlushAsync(cancellationToken);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync() => Inner.DisposeAsync();
}
