using AstraPbx.ServiceDefaults.Health;
using AstraPbx.ServiceDefaults.Messaging;
using AstraPbx.ServiceDefaults.Telemetry;
using Xunit;

namespace AstraPbx.Foundation.Tests;

public sealed class RedactionTests
{
    [Theory]
    [InlineData("wss://bots.example/ws/org/bot?key=ak_live_123", "wss://bots.example/ws/org/bot?key=***")]
    [InlineData("ws://127.0.0.1:8765/ws?key=ak_1&lang=en", "ws://127.0.0.1:8765/ws?key=***&lang=***")]
    [InlineData("wss://bots.example/ws/org/bot", "wss://bots.example/ws/org/bot")]
    [InlineData("amqp://astrapbx:s3cret@127.0.0.1:35672/vh", "amqp://astrapbx:***@127.0.0.1:35672/vh")]
    [InlineData("not a url?key=ak_1", "not a url?***")]
    [InlineData("", "")]
    public void Redacted_url_keeps_no_secret(string url, string expected)
    {
        Assert.Equal(expected, SecretRedactor.RedactUrl(url));
    }

    [Fact]
    public void Amqp_address_parses_every_part_and_never_prints_the_password()
    {
        var address = RabbitMqAddress.Parse("amqp://user%40x:p%2Fss@broker:5673/my%2Fvhost");
        Assert.Equal(new RabbitMqAddress("broker", 5673, "my/vhost", "user@x", "p/ss", false), address);
        Assert.DoesNotContain("p/ss", address.ToString(), StringComparison.Ordinal);
        Assert.Equal("/", RabbitMqAddress.Parse("amqps://u:p@broker").VirtualHost);
        Assert.Equal(5671, RabbitMqAddress.Parse("amqps://u:p@broker").Port);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("rabbitmq")]
    [InlineData("http://u:p@host/")]
    public void Bad_amqp_address_is_refused_naming_the_setting(string? value)
    {
        Assert.False(RabbitMqAddress.TryParse(value, out _, out var problem));
        var error = Assert.Throws<FormatException>(() => RabbitMqAddress.Parse(value!));
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        Assert.Contains("ConnectionStrings:rabbitmq", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://0.0.0.0:8080", "http://127.0.0.1:8080/")]
    [InlineData("http://+:80;http://127.0.0.1:81", "http://127.0.0.1/")]
    [InlineData("http://[::]:7101", "http://127.0.0.1:7101/")]
    [InlineData("http://10.1.2.3:7101", "http://10.1.2.3:7101/")]
    public void Health_verb_asks_the_first_url_on_loopback_for_wildcards(string urls, string expected)
    {
        Assert.Equal(expected, HealthCommand.ProbeAddress(urls)!.ToString());
    }
}
