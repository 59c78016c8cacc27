using Microsoft.AspNetCore.Http;

namespace AstraPbx.Simulators.Ari;

/// <summary>Counts the commands the ingress sends per channel (<c>continue</c>, <c>DELETE</c>), whether ARI accepts them
/// or not: the fault suite checks that every Stasis entry gets exactly one.</summary>
public sealed partial class AsteriskSimulator
{
    private const string ChannelsPath = "/ari/channels/";

    private int _requests;

    /// <summary>Authenticated requests that reached one of the simulator's routes since start, the start's own route
    /// warm-up included (one per route); a path no route matches is not counted.</summary>
    public int RequestsServed => Volatile.Read(ref _requests);

    private Task CountCommandAsync(HttpContext context, RequestDelegate next)
    {
        if (context.GetEndpoint() is not null)
        {
            Interlocked.Increment(ref _requests);
        }

        var path = context.Request.Path.Value ?? "";
        if (path.StartsWith(ChannelsPath, StringComparison.Ordinal))
        {
            var rest = path[ChannelsPath.Length..];
            var slash = rest.IndexOf('/', StringComparison.Ordinal);
            var id = slash < 0 ? rest : rest[..slash];
            var action = slash < 0 ? "" : rest[(slash + 1)..];
            if (_allCalls.TryGetValue(id, out var call))
            {
                if (HttpMethods.IsDelete(context.Request.Method) && action.Length == 0)
                {
                    call.CountHangupRequest();
                }
                else if (HttpMethods.IsPost(context.Request.Method) && action == "continue")
                {
                    call.CountContinueRequest();
                }
            }
        }

        return next(context);
    }
}
