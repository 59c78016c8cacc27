namespace AstraPbx.Routing.Hosting;

/// <summary>Whether the schema migrations have been applied (or were not asked for at start).</summary>
public sealed class SchemaState
{
    private volatile bool _ready;

    public bool Ready => _ready;

    public void MarkReady() => _ready = true;
}
