namespace AstraPbx.Foundation.Tests;

/// <summary>The settings each service needs to start, beyond the broker.</summary>
internal static class ServiceEnvironment
{
    public static readonly IReadOnlyDictionary<string, string?> Empty = new Dictionary<string, string?>();

    public static Dictionary<string, string?> For(string service, string? rabbitmq) => new()
    {
        ["ConnectionStrings__rabbitmq"] = rabbitmq,
    };
}
