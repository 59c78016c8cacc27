using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using AstraPbx.AriIngress.Ari;

namespace AstraPbx.AriIngress.Tests.CallHandling;

/// <summary>ARI's REST side without a server, under the real <see cref="AriClient"/>: records each request as
/// <c>METHOD path?query</c> (relative to <c>/ari/</c>, unescaped) and answers from a table of replies. Unless told
/// otherwise a POST or DELETE succeeds (204), a variable is missing and a GET finds no channel (404).</summary>
internal sealed class StubAri : HttpMessageHandler
{
    private readonly ConcurrentDictionary<string, (int Status, string? Body)> _replies = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (Task Release, TaskCompletionSource Arrived)> _holds = new(StringComparer.Ordinal);

    public StubAri() => Client = new AriClient(new HttpClient(this) { BaseAddress = new Uri("http://asterisk.test/ari/") });

    public AriClient Client { get; }

    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>How to answer <paramref name="request"/>: <c>METHOD path</c>, or <c>METHOD path?query</c> for one query only.</summary>
    public StubAri Reply(string request, int status, string? body = null)
    {
        _replies[request] = (status, body);
        return this;
    }

    /// <summary>GET channels/{id} answers with this channel.</summary>
    public StubAri Channel(AriChannel channel) =>
        Reply("GET channels/" + channel.Id, 200, JsonSerializer.Serialize(channel, AriJsonContext.Default.AriChannel));

    /// <summary>GET applications/{name} lists these channels.</summary>
    public StubAri Application(string name, params string[] channelIds) =>
        Reply("GET applications/" + name, 200, JsonSerializer.Serialize(new AriApplication { Name = name, ChannelIds = [.. channelIds] }, AriJsonContext.Default.AriApplication));

    /// <summary>Answers <paramref name="request"/> (<c>METHOD path</c>) only once <paramref name="release"/> completes.</summary>
    public StubAri Hold(string request, Task release)
    {
        _holds[request] = (release, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        return this;
    }

    /// <summary>Completes when the request given to <see cref="Hold"/> has arrived (and is being held).</summary>
    public Task Held(string request) => _holds[request].Arrived.Task;

    /// <summary>The requests about one channel, in order.</summary>
    public string[] About(string channelId) =>
        [.. Requests.Where(r => r.Contains("channels/" + channelId, StringComparison.Ordinal) || r.EndsWith("channel:" + channelId, StringComparison.Ordinal))];

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var uri = request.RequestUri!;
        var path = Uri.UnescapeDataString(uri.AbsolutePath["/ari/".Length..]);
        var query = Uri.UnescapeDataString(uri.Query);
        var key = $"{request.Method} {path}";
        Requests.Enqueue(key + query);
        if (_holds.TryGetValue(key, out var hold))
        {
            hold.Arrived.TrySetResult();
            await hold.Release.WaitAsync(cancellationToken);
        }

        var (status, body) = _replies.TryGetValue(key + query, out var exact) ? exact
            : _replies.TryGetValue(key, out var any) ? any
            : request.Method != HttpMethod.Get ? (204, null)
            : path.EndsWith("/variable", StringComparison.Ordinal) ? (404, """{"message":"Provided variable was not found"}""")
            : (404, """{"message":"Channel not found"}""");
        var response = new HttpResponseMessage((HttpStatusCode)status) { RequestMessage = request };
        if (body is not null)
        {
            response.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        return response;
    }
}
