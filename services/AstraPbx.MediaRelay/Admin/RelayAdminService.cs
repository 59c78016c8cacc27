using AstraPbx.Contracts.Media;
using AstraPbx.Contracts.RelayAdmin;
using AstraPbx.MediaRelay.Capacity;
using AstraPbx.MediaRelay.Hosting;
using AstraPbx.MediaRelay.Media;
using AstraPbx.MediaRelay.Sessions;
using Grpc.Core;

namespace AstraPbx.MediaRelay.Admin;

/// <summary>The relay's admin API (<c>contracts/protos/relay_admin.proto</c>), on the HTTP/2 endpoint.</summary>
public sealed class RelayAdminService(SessionRegistry registry, PlayoutClock clock, RelayDrain drain, CapacityMonitor capacity) : RelayAdmin.RelayAdminBase
{
    public override Task<ListSessionsResponse> ListSessions(ListSessionsRequest request, ServerCallContext context)
    {
        var response = new ListSessionsResponse();
        foreach (var session in registry.Sessions)
        {
            if (session.IsEnded)
            {
                continue;
            }

            response.Sessions.Add(new SessionInfo
            {
                SessionId = session.SessionId.ToString(),
                CallId = session.CallId,
                AsteriskId = session.AsteriskId,
                State = session.IsPending ? "pending" : "live",
                MediaMode = session.Mode == MediaMode.Twilio ? "twilio" : "astrapbx-binary",
                Gateway = session.Gateway,
                AgeSeconds = session.Age.TotalSeconds,
                FramesToGateway = session.FramesToGateway,
                FramesToCaller = session.FramesToCaller,
                Underruns = session.Underruns,
            });
        }

        return Task.FromResult(response);
    }

    public override Task<RelayStats> GetStats(GetStatsRequest request, ServerCallContext context)
    {
        var (toGateway, toCaller, underruns) = registry.Frames;
        return Task.FromResult(new RelayStats
        {
            PendingSessions = registry.PendingCount,
            LiveSessions = registry.LiveCount,
            SessionsStarted = registry.Started,
            SessionsFailed = registry.Failed,
            FramesToGateway = toGateway,
            FramesToCaller = toCaller,
            Underruns = underruns,
            LateTicks = clock.LateTicks,
            MaxLatenessMs = clock.MaxLatenessMs,
            Draining = registry.Draining,
        });
    }

    public override Task<RelayCapacityInfo> GetCapacity(GetCapacityRequest request, ServerCallContext context)
    {
        var state = capacity.State;
        return Task.FromResult(new RelayCapacityInfo
        {
            Accepting = state.Accepting,
            Limiter = state.Limiter,
            HeadroomSessions = state.HeadroomSessions,
            Sessions = state.Sessions,
            Load = state.Load,
            CpuUsedCores = state.CpuUsedCores,
            CpuLimitCores = state.CpuLimitCores,
            LateTickRatio = state.LateTickRatio,
        });
    }

    public override Task<StartDrainResponse> StartDrain(StartDrainRequest request, ServerCallContext context)
    {
        _ = drain.StartDrain(request.TimeoutSeconds > 0 ? TimeSpan.FromSeconds(request.TimeoutSeconds) : null);
        return Task.FromResult(new StartDrainResponse { Draining = true, LiveSessions = registry.LiveCount });
    }
}
