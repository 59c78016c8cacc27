using System.Text;
using AstraPbx.AriIngress.Ari;
using Xunit;

namespace AstraPbx.AriIngress.Tests.CallHandling;

/// <summary>The events socket's messages become typed events, or a named problem to log and skip.</summary>
public sealed class AriEventDecoderTests
{
    [Fact]
    public void An_ARI_event_decodes_with_its_fields()
    {
        var json = """{"type":"ChannelDestroyed","application":"astrapbx","cause":16,"cause_txt":"Normal Clearing","channel":{"id":"1.1"},"new_field":[1]}""";
        Assert.True(AriEventDecoder.TryDecode(Encoding.UTF8.GetBytes(json), out var evt, out var problem));
        Assert.Equal(("ChannelDestroyed", "astrapbx", 16, "Normal Clearing", "1.1"), (evt.Type, evt.Application, evt.Cause, evt.CauseTxt, evt.Channel!.Id));
        Assert.Equal("", problem);
    }

    [Fact]
    public void An_unknown_type_still_decodes_for_the_coordinator_to_skip() =>
        Assert.True(AriEventDecoder.TryDecode("""{"type":"SomethingNew"}"""u8, out var evt, out _) && evt.Type == "SomethingNew");

    [Theory]
    [InlineData("this is not json", "not ARI JSON: ")]
    [InlineData("""{"type":"StasisStart","channel":{"id":42}}""", "not ARI JSON: ")]
    [InlineData("""{"type":"StasisStart",""", "not ARI JSON: ")]
    [InlineData("""{"no_type":true}""", "no 'type'")]
    [InlineData("null", "no 'type'")]
    public void Malformed_messages_are_refused_with_the_problem_named(string message, string problemStart)
    {
        Assert.False(AriEventDecoder.TryDecode(Encoding.UTF8.GetBytes(message), out var evt, out var problem));
        Assert.Null(evt);
        Assert.StartsWith(problemStart, problem, StringComparison.Ordinal);
    }
}
