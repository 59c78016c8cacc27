using System.Diagnostics;
using System.Globalization;
using AstraPbx.LocalRun;
using AstraPbx.Simulators.Ari;
using AstraPbx.Simulators.AudioSocket;
using AstraPbx.Simulators.Gateway;
using AstraPbx.Testing;

namespace AstraPbx.EndToEnd.Tests;

/// <summary>Placing and following simulated calls through a <see cref="LocalDeployment"/>.</summary>
internal static class Calls
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <param name="silentCaller">The caller's channel carries no media (see <see cref="SimulatedCallOptions.SilentCaller"/>).</param>
    public static async Task<SimulatedCall> DialAsync(LocalDeployment deployment, string stasisArgs, string extension, bool silentCaller = false, IAudioSource? audio = null)
    {
        return await deployment.Asterisk.StartCallAsync(new SimulatedCallOptions
        {
            SilentCaller = silentCaller,
            AudioSource = audio,
            StasisArgs = stasisArgs,
            CallerNumber = "08065978002",
            CallerName = "E2E Caller",
            Extension = extension,
            Context = deployment.InternalContext,
            Variables = new Dictionary<string, string> { ["ORG_ID"] = deployment.OrgId },
        });
    }

    /// <summary>A call to the AI bot 1003, up to the point where audio flows both ways.</summary>
    public static async Task<(SimulatedCall Call, AudioSocketCaller Caller, GatewaySession Bot)> DialBotAsync(
        LocalDeployment deployment, string stasisArgs, string extension, FakeGateway? gateway = null, bool silentCaller = false, IAudioSource? audio = null)
    {
        var call = await DialAsync(deployment, stasisArgs, extension, silentCaller, audio);
        var caller = await call.AudioSocketDialled.Within(Patience, $"Asterisk to dial the relay for {call.ChannelId}\n{deployment.AllOutput()}");
        // A relay may also have prepared sessions nobody claimed (a request Routing gave up on under load): skip them.
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var bot = await (gateway ?? deployment.Gateway).NextSession(deadline - DateTime.UtcNow);
            if (bot.CallSid == call.ChannelId)
            {
                return (call, caller, bot);
            }
        }
    }

    /// <summary>An ai_agent user of the seed's organisation whose gateway is <paramref name="gatewayUrl"/> (a change in
    /// the database applies to the next call); returns its id.</summary>
    public static async Task<int> AddBotUserAsync(LocalDeployment deployment, string extension, string gatewayUrl, int sampleRate = 8000)
    {
        await deployment.ExecuteAsync(
            "INSERT INTO users (organization_id, extension, name, routing_type, routing_destination, ai_sample_rate) VALUES (@org, @ext, 'Test bot', 'ai_agent', @url, @rate) " +
            "ON CONFLICT (organization_id, extension) DO UPDATE SET routing_destination = EXCLUDED.routing_destination, ai_sample_rate = EXCLUDED.ai_sample_rate",
            ("org", int.Parse(deployment.OrgId, System.Globalization.CultureInfo.InvariantCulture)), ("ext", extension), ("url", gatewayUrl), ("rate", sampleRate));
        return await deployment.IdOfAsync("users", extension);
    }

    /// <summary>Completes when the call is continued to the fallback (the seed's reception queue), whichever entry
    /// into Stasis that continue answered.</summary>
    public static Task<Continuation> FallbackAsync(LocalDeployment deployment, SimulatedCall call) =>
        call.ContinuedTo(deployment.InternalContext, "5001");

    /// <summary>Milliseconds from one <see cref="Stopwatch.GetTimestamp"/> to a later one.</summary>
    public static double Ms(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;

    /// <summary>A process's resident set size in KiB (<c>VmRSS</c> in <c>/proc/&lt;pid&gt;/status</c>).</summary>
    public static long RssKiB(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"no VmRSS for process {pid}");
    }

    /// <summary>Waits until the call record satisfies <paramref name="done"/>.</summary>
    public static Task<IReadOnlyDictionary<string, object?>> RecordAsync(
        LocalDeployment deployment, string callId, Func<IReadOnlyDictionary<string, object?>, bool> done, string description) =>
        Eventually.Until(
            async () => await deployment.CallRecordAsync(callId) ?? new Dictionary<string, object?>(),
            r => r.Count > 0 && done(r),
            Patience,
            $"call record of {callId}: {description}")!;

    /// <summary>True when a received frame carries sound (not the relay's silence fill).</summary>
    public static bool IsSound(ReceivedFrame frame)
    {
        foreach (var b in frame.Payload)
        {
            if (b != 0)
            {
                return true;
            }
        }

        return false;
    }
}
