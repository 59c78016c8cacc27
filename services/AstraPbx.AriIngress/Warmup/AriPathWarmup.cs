using System.Text;
using AstraPbx.AriIngress.Ari;
using AstraPbx.AriIngress.Calls;
using AstraPbx.Contracts.Calls;
using AstraPbx.Contracts.Media;
using AstraPbx.ServiceDefaults.Warmup;

namespace AstraPbx.AriIngress.Warmup;

/// <summary>A StasisStart's path through the ingress, in memory: the recorded event shapes through
/// <see cref="AriEventDecoder"/>, the entry's ARI requests (answer, variable read, set, continue, a 409) through an
/// <see cref="AriClient"/> over an in-memory handler (no request leaves the process), the
/// <see cref="CallEnteredStasis"/> built from the event the way <see cref="StasisEntryHandler"/> builds it, and the JSON
/// of every contract the ingress sends or receives. Nothing is published; no span is exported.</summary>
internal sealed class AriPathWarmup : IRepeatableWarmupStep
{
    private const string ChannelId = "warmup.1";

    public string Name => "ari-path";

    public Task RunAsync(CancellationToken cancellationToken) => RepeatAsync(1, cancellationToken);

    public Task RepeatAsync(int passes, CancellationToken cancellationToken) => WarmupPasses.RunAsync(passes, PassAsync, cancellationToken);

    private async Task PassAsync(CancellationToken cancellationToken)
    {
        // The fake channel's requests are traced as a call's are; their spans are not exported.
        using var traced = WarmupTracing.Begin(Name);

        foreach (var sample in AriSamples.Events)
        {
            if (!AriEventDecoder.TryDecode(Encoding.UTF8.GetBytes(sample), out _, out var problem))
            {
                throw new InvalidOperationException("warm-up sample not decoded: " + problem);
            }
        }

        if (!AriEventDecoder.TryDecode(Encoding.UTF8.GetBytes(AriSamples.StasisStart), out var start, out _) || start.Channel is not { } channel)
        {
            throw new InvalidOperationException("warm-up StasisStart not decoded");
        }

        using var http = new HttpClient(new InMemoryAri()) { BaseAddress = new Uri("http://ari.invalid/ari/") };
        var ari = new AriClient(http);
        var answer = await ari.AnswerAsync(ChannelId, cancellationToken).ConfigureAwait(false);
        var org = await ari.GetVariableAsync(ChannelId, "ORG_ID", cancellationToken).ConfigureAwait(false);
        await ari.SetVariableAsync(ChannelId, "AUDIOSOCKET_UUID", Guid.Empty.ToString(), cancellationToken).ConfigureAwait(false);
        await ari.ContinueAsync(ChannelId, "audiosocket-ai", "s", 1, cancellationToken).ConfigureAwait(false);
        var late = await ari.AnswerAsync(InMemoryAri.GoneChannel, cancellationToken).ConfigureAwait(false);
        await ari.GetChannelAsync(ChannelId, cancellationToken).ConfigureAwait(false);
        if (!answer.IsOk || org.Value is null || late.Status != AriStatus.Conflict)
        {
            throw new InvalidOperationException($"in-memory ARI answered {answer.Status}, {org.Result.Status}, {late.Status}");
        }

        var now = DateTimeOffset.UtcNow;
        var entry = new CallEnteredStasis
        {
            CallId = ChannelId,
            AsteriskId = start.AsteriskId ?? "",
            ChannelName = channel.Name ?? "",
            StasisArgs = start.Args is { } args ? [.. args] : StasisArgs.FromAppData(channel.Dialplan?.AppData, "astrapbx") ?? [],
            CallerNumber = channel.Caller?.Number ?? "",
            CallerName = channel.Caller?.Name ?? "",
            Extension = channel.Dialplan?.Exten ?? "",
            Context = channel.Dialplan?.Context ?? "",
            OrgId = org.Value,
            Variables = new Dictionary<string, string>(StringComparer.Ordinal) { ["ORG_ID"] = org.Value },
            EnteredAt = now,
            AnsweredAt = now,
            DecideBy = now.AddSeconds(3),
        };

        ContractWarmup.RoundTrip(entry);
        ContractWarmup.RoundTrip(new CallEnded { CallId = ChannelId, AsteriskId = entry.AsteriskId, Cause = 16, CauseText = HangupCause.Text(16), EndedAt = now });
        ContractWarmup.RoundTrip(new FallbackTaken { Entry = entry, DecidedBy = "warm-up", Outcome = RouteOutcome.Fallback });
        ContractWarmup.RoundTrip(new ConnectToRelay { CallId = ChannelId, AsteriskId = entry.AsteriskId, SessionId = Guid.Empty, RelayEndpoint = "127.0.0.1:9092" });
        ContractWarmup.RoundTrip(new ContinueInDialplan { CallId = ChannelId, AsteriskId = entry.AsteriskId, Context = "default", Extension = "s" });
        ContractWarmup.RoundTrip(new HangupCall { CallId = ChannelId, AsteriskId = entry.AsteriskId });
        ContractWarmup.RoundTrip(new AiSessionEnded { CallId = ChannelId, AsteriskId = entry.AsteriskId, SessionId = Guid.Empty, EndedBy = default });
    }
}
