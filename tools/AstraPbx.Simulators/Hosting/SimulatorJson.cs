using System.Buffers;
using System.Text.Json;

namespace AstraPbx.Simulators.Hosting;

/// <summary>How the simulators write the JSON they send.</summary>
internal static class SimulatorJson
{
    /// <summary>One JSON object: <c>{</c>, what <paramref name="body"/> writes, <c>}</c>.</summary>
    public static ArrayBufferWriter<byte> Object(Action<Utf8JsonWriter> body, int capacity = 256)
    {
        var buffer = new ArrayBufferWriter<byte>(capacity);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return buffer;
    }
}
