using System.Net;
using System.Text;

namespace AstraPbx.AriIngress.Warmup;

/// <summary>Answers the ingress's ARI requests the way Asterisk did in the recorded call (shared/ari-samples), each
/// after a yield: a real request completes later, and the callers' code for resuming after an await is compiled only
/// when an await really waits.</summary>
internal sealed class InMemoryAri : HttpMessageHandler
{
    public const string GoneChannel = "warmup.gone";

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var path = request.RequestUri?.AbsolutePath ?? "";
        var response = path.Contains(GoneChannel, StringComparison.Ordinal)
            ? Json(HttpStatusCode.Conflict, """{"message":"Channel not in Stasis application"}""")
            : request.Method == HttpMethod.Get && path.EndsWith("/variable", StringComparison.Ordinal)
                ? Json(HttpStatusCode.OK, """{"value":"org_warmup"}""")
                : request.Method == HttpMethod.Get
                    ? Json(HttpStatusCode.OK, AriSamples.Channel)
                    : new HttpResponseMessage(HttpStatusCode.NoContent) { Content = new ByteArrayContent([]) };
        return response;
    }

    private static HttpResponseMessage Json(HttpStatusCode status, string body) =>
        new(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
}
