using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using AstraPbx.AriIngress;
using AstraPbx.AriIngress.Ari;
using AstraPbx.LocalRun.Infrastructure;
using AstraPbx.ServiceDefaults;
using AstraPbx.Simulators.Ari;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AstraPbx.IngressBench;

/// <summary>New calls per second into the AriIngress (hosted in this process, as Program.cs builds it) from the
/// Asterisk simulator, on the real broker (a fresh vhost, deleted afterwards). Measures, per call:
/// StasisStart received -> answer request sent, -> answer completed, -> CallEnteredStasis confirmed by the broker
/// (the ingress's own histograms), and StasisStart sent -> answer received as the simulator sees it.
/// Loopback only, bounded: each rate runs for a fixed time, then it stops by itself.</summary>
internal static class IngressBenchRun
{
    public static async Task<int> RunAsync(int[] rates, int seconds)
    {
        await using var rabbit = RabbitMqBroker.FromEnvironment() ?? throw new InvalidOperationException("No RabbitMQ. " + LocalEnvironment.HowToStart);
        var vhost = await rabbit.CreateVirtualHostAsync("ingress-bench");
        await using var asterisk = await AsteriskSimulator.StartAsync(new AsteriskSimulatorOptions { AsteriskId = "02:fc:00:00:be:01" });
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ApplicationName = "AstraPbx.AriIngress" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Urls"] = "http://127.0.0.1:0",
            ["ConnectionStrings:rabbitmq"] = vhost,
            ["Ari:BaseUrl"] = asterisk.BaseUrl,
            ["Ari:Username"] = asterisk.Options.Username,
            ["Ari:Password"] = asterisk.Options.Password,
        });
        builder.AddServiceDefaults();
        builder.AddApplicationServices();
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapDefaultEndpoints();
        await app.StartAsync();
        await app.Services.GetRequiredService<AriConnection>().CommandQueueReady.WaitAsync(TimeSpan.FromSeconds(60));
        await asterisk.WaitForEventSocketAsync().WaitAsync(TimeSpan.FromSeconds(30));

        var samples = new ConcurrentDictionary<string, ConcurrentQueue<double>>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == AriIngressTelemetry.SourceName && instrument is Histogram<double>)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => samples.GetOrAdd(instrument.Name, _ => new()).Enqueue(value));
        listener.Start();

        await OfferAsync(20, 1, record: false); // warm-up: JIT, connection pools
        Console.WriteLine($"IngressBench: {seconds} s per rate, simulator {asterisk.BaseUrl}, broker vhost {vhost[(vhost.LastIndexOf('/') + 1)..]}");
        Console.WriteLine();
        Console.WriteLine("| new calls/s | calls | metric | p50 ms | p99 ms | max ms |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var rate in rates)
        {
            await OfferAsync(rate, seconds, record: true);
        }

        await app.StopAsync();
        return 0;

        async Task OfferAsync(int rate, int duration, bool record)
        {
            samples.Clear();
            var total = rate * duration;
            var calls = new List<SimulatedCall>(total);
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < total; i++)
            {
                var due = TimeSpan.FromSeconds((double)i / rate);
                if (due > clock.Elapsed)
                {
                    await Task.Delay(due - clock.Elapsed);
                }

                calls.Add(await asterisk.StartCallAsync(new SimulatedCallOptions { StasisArgs = "ai_agent," + i, Variables = { ["ORG_ID"] = "bench" } }));
            }

            var offered = clock.Elapsed;
            var deadline = Stopwatch.StartNew();
            while (Count("astrapbx.ari_ingress.published") < total && deadline.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(50);
            }

            if (record)
            {
                var label = $"| {rate} | {Count("astrapbx.ari_ingress.published")}/{total} (offered in {offered.TotalSeconds:0.0} s) |";
                Row(label, "StasisStart received -> answer sent (ingress)", samples.GetValueOrDefault("astrapbx.ari_ingress.answer_sent"));
                Row(label, "StasisStart received -> answer completed (ingress)", samples.GetValueOrDefault("astrapbx.ari_ingress.answered"));
                Row(label, "StasisStart received -> CallEnteredStasis confirmed (ingress)", samples.GetValueOrDefault("astrapbx.ari_ingress.published"));
                Row(label, "StasisStart sent -> answer received (simulator)",
                    new ConcurrentQueue<double>(calls.Where(c => c.TimeToAnswer is not null).Select(c => c.TimeToAnswer!.Value.TotalMilliseconds)));
            }

            foreach (var call in calls)
            {
                await call.HangUpAsync();
            }
        }

        int Count(string name) => samples.TryGetValue(name, out var q) ? q.Count : 0;
    }

    private static void Row(string label, string metric, ConcurrentQueue<double>? values)
    {
        if (values is null || values.IsEmpty)
        {
            Console.WriteLine($"{label} {metric} | - | - | - |");
            return;
        }

        var sorted = values.ToArray();
        Array.Sort(sorted);
        double At(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{label} {metric} | {At(0.50):0.00} | {At(0.99):0.00} | {sorted[^1]:0.00} |"));
    }
}
