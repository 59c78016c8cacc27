using System.Collections.Concurrent;
using AstraPbx.LocalRun.Otlp;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace AstraPbx.LocalRun;

/// <summary>A span as received over OTLP: which service sent it, and its place in the trace.</summary>
public sealed record ReceivedSpan(
    string Service, string TraceId, string SpanId, string ParentSpanId, string Name, int Kind,
    DateTimeOffset Start, DateTimeOffset End, IReadOnlyDictionary<string, string> Attributes)
{
    public override string ToString() => $"{Service} {Name} ({SpanId} <- {ParentSpanId})";
}

/// <summary>An OTLP/gRPC trace receiver on 127.0.0.1: the services export to it (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>)
/// so the demo can print a call's trace and the tests can check it is one trace across every service.</summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private OtlpReceiver(WebApplication app, SpanStore store)
    {
        _app = app;
        Store = store;
    }

    public SpanStore Store { get; }

    public string Endpoint { get; private set; } = "";

    public IReadOnlyCollection<ReceivedSpan> Spans => Store.Spans;

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        var store = new SpanStore();
        builder.Services.AddSingleton(store);
        builder.Services.AddGrpc();
        var app = builder.Build();
        app.MapGrpcService<TraceReceiverService>();
        await app.StartAsync().ConfigureAwait(false);
        var receiver = new OtlpReceiver(app, store);
        receiver.Endpoint = app.Urls.First();
        return receiver;
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    public sealed class SpanStore
    {
        private readonly ConcurrentQueue<ReceivedSpan> _spans = new();

        public IReadOnlyCollection<ReceivedSpan> Spans => _spans;

        public event Action<ReceivedSpan>? Received;

        public void Add(ReceivedSpan span)
        {
            _spans.Enqueue(span);
            Received?.Invoke(span);
        }
    }

    private sealed class TraceReceiverService(SpanStore store) : TraceService.TraceServiceBase
    {
        public override Task<ExportTraceServiceResponse> Export(ExportTraceServiceRequest request, ServerCallContext context)
        {
            foreach (var resource in request.ResourceSpans)
            {
                var service = resource.Resource?.Attributes.FirstOrDefault(a => a.Key == "service.name")?.Value?.StringValue ?? "";
                foreach (var scope in resource.ScopeSpans)
                {
                    foreach (var span in scope.Spans)
                    {
                        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
                        foreach (var attribute in span.Attributes)
                        {
                            attributes[attribute.Key] = Render(attribute.Value);
                        }

                        store.Add(new ReceivedSpan(
                            service,
                            Convert.ToHexStringLower(span.TraceId.Span),
                            Convert.ToHexStringLower(span.SpanId.Span),
                            span.ParentSpanId.IsEmpty ? "" : Convert.ToHexStringLower(span.ParentSpanId.Span),
                            span.Name,
                            span.Kind,
                            DateTimeOffset.FromUnixTimeMilliseconds((long)(span.StartTimeUnixNano / 1_000_000)),
                            DateTimeOffset.FromUnixTimeMilliseconds((long)(span.EndTimeUnixNano / 1_000_000)),
                            attributes));
                    }
                }
            }

            return Task.FromResult(new ExportTraceServiceResponse());
        }

        private static string Render(AnyValue? value) => value?.ValueCase switch
        {
            AnyValue.ValueOneofCase.StringValue => value.StringValue,
            AnyValue.ValueOneofCase.IntValue => value.IntValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
            AnyValue.ValueOneofCase.DoubleValue => value.DoubleValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
            AnyValue.ValueOneofCase.BoolValue => value.BoolValue ? "true" : "false",
            AnyValue.ValueOneofCase.ArrayValue => string.Join(",", value.ArrayValue.Values.Select(Render)),
            _ => "",
        };
    }
}
