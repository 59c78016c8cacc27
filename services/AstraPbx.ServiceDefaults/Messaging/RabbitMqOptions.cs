using Microsoft.Extensions.Options;

namespace AstraPbx.ServiceDefaults.Messaging;

/// <summary>The broker, from <c>ConnectionStrings:rabbitmq</c>: <c>amqp://user:password@host:port/vhost</c>
/// (<c>amqps://</c> for TLS).</summary>
public sealed class RabbitMqOptions
{
    public const string ConnectionStringKey = "ConnectionStrings:rabbitmq";

    public string? ConnectionString { get; set; }

    /// <summary>The parsed address; valid only after validation passed.</summary>
    public RabbitMqAddress Address => RabbitMqAddress.Parse(ConnectionString!);
}

/// <summary>The parts of an AMQP URI MassTransit needs.</summary>
public sealed record RabbitMqAddress(string Host, int Port, string VirtualHost, string Username, string Password, bool UseTls)
{
    public static bool TryParse(string? value, out RabbitMqAddress address, out string problem)
    {
        address = null!;
        if (string.IsNullOrWhiteSpace(value))
        {
            problem = "is missing";
            return false;
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != "amqp" && uri.Scheme != "amqps") || uri.Host.Length == 0)
        {
            // The value itself is not echoed: it may hold the password.
            problem = "is not an amqp:// or amqps:// URL with a host (expected amqp://user:password@host:port/vhost)";
            return false;
        }

        var tls = uri.Scheme == "amqps";
        var userInfo = uri.UserInfo.Split(':', 2);
        var user = userInfo[0].Length > 0 ? Uri.UnescapeDataString(userInfo[0]) : "guest";
        var password = userInfo.Length > 1 ? Uri.UnescapeDataString(userInfo[1]) : "guest";
        var vhost = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        address = new RabbitMqAddress(uri.Host, uri.IsDefaultPort ? (tls ? 5671 : 5672) : uri.Port, vhost.Length == 0 ? "/" : vhost, user, password, tls);
        problem = "";
        return true;
    }

    public static RabbitMqAddress Parse(string value) =>
        TryParse(value, out var address, out var problem)
            ? address
            : throw new FormatException($"Setting '{RabbitMqOptions.ConnectionStringKey}' {problem}.");

    /// <summary>Never prints the password.</summary>
    public override string ToString() => $"{(UseTls ? "amqps" : "amqp")}://{Username}:***@{Host}:{Port}/{VirtualHost}";
}

internal sealed class RabbitMqOptionsValidator : IValidateOptions<RabbitMqOptions>
{
    public ValidateOptionsResult Validate(string? name, RabbitMqOptions options) =>
        RabbitMqAddress.TryParse(options.ConnectionString, out _, out var problem)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"Setting '{RabbitMqOptions.ConnectionStringKey}' {problem}.");
}
