using System.Diagnostics;
using AstraPbx.Routing.Orchestration;
using Xunit;

namespace AstraPbx.Routing.Tests;

public sealed class MessageTraceTests
{
    [Fact]
    public void A_traceparent_header_names_its_trace_and_span()
    {
        var parent = MessageTrace.ParentOf("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");

        Assert.NotNull(parent);
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", parent.Value.TraceId.ToHexString());
        Assert.Equal("b7ad6b7169203331", parent.Value.SpanId.ToHexString());
    }

    [Fact]
    public void The_id_of_a_W3C_activity_parses_back_to_its_trace_and_span()
    {
        using var activity = new Activity("call").SetIdFormat(ActivityIdFormat.W3C).Start();

        var parent = MessageTrace.ParentOf(activity.Id);

        Assert.NotNull(parent);
        Assert.Equal(activity.TraceId, parent.Value.TraceId);
        Assert.Equal(activity.SpanId, parent.Value.SpanId);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("00-0af7651916cd43dd8448eb211c80319c")]
    [InlineData("00-0af7651916cd43dd8448eb211c8031zz-b7ad6b7169203331-01")]
    [InlineData("|0af7651916cd43dd8448eb211c80319c.b7ad6b7169203331.")]
    public void A_missing_or_malformed_traceparent_names_no_parent(string? header) =>
        Assert.Null(MessageTrace.ParentOf(header));
}
