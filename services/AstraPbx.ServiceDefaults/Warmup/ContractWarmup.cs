using System.Text.Json;
using MassTransit.Serialization;

namespace AstraPbx.ServiceDefaults.Warmup;

/// <summary>Runs the bus's JSON (de)serialisation of a contract once, in memory: the first real message of a type
/// otherwise pays for building its System.Text.Json converters. Nothing is sent.</summary>
public static class ContractWarmup
{
    /// <summary>Serialises <paramref name="message"/> with MassTransit's options and reads it back; throws when the
    /// round trip loses the type.</summary>
    public static void RoundTrip<T>(T message)
        where T : class
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(message, SystemTextJsonMessageSerializer.Options);
        _ = JsonSerializer.Deserialize<T>(body, SystemTextJsonMessageSerializer.Options)
            ?? throw new InvalidOperationException($"{typeof(T).Name} did not survive a JSON round trip");
    }
}
