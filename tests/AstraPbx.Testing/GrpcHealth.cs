using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace AstraPbx.Testing;

/// <summary>Asks a service's <c>grpc.health.v1.Health/Check</c>.</summary>
public static class GrpcHealth
{
    /// <summary>The overall status, or <c>Unknown</c> while nothing answers on the port.</summary>
    public static async Task<HealthCheckResponse.Types.ServingStatus> CheckAsync(string address)
    {
        using var channel = GrpcChannel.ForAddress(address);
        var client = new Health.HealthClient(channel);
        try
        {
            var reply = await client.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(5));
            return reply.Status;
        }
        catch (RpcException)
        {
            return HealthCheckResponse.Types.ServingStatus.Unknown;
        }
    }
}
