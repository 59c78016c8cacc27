using System.Globalization;

namespace AstraPbx.LoadTool;

/// <summary>Command line of the load tool.</summary>
internal sealed class LoadOptions
{
    public int Calls { get; private set; } = 100;

    public double DurationSeconds { get; private set; } = 30;

    public double WarmupSeconds { get; private set; } = 2;

    public bool StartRelay { get; private set; }

    public string? RelayDll { get; private set; }

    public int? RelayPid { get; private set; }

    public string? RabbitMq { get; private set; }

    public int PrepareConcurrency { get; private set; } = 32;

    public int JitterTargetMs { get; private set; } = 40;

    public double RampRate { get; private set; }

    public List<string> RelaySettings { get; } = [];

    public static string Usage => """
        AstraPbx load tool: N concurrent simulated Asterisk calls (AudioSocket, one 20 ms frame every 20 ms) through a
        running MediaRelay to an echo gateway; reports frames lost, arrival spacing, added round trip, relay CPU and memory.

          --calls N                 concurrent calls (default 100, at most 2000)
          --duration S              measured seconds once every call is up (default 30, at most 600)
          --warmup S                seconds after the last call is up before measuring (default 2)
          --start-relay             start the relay from its Release build on free loopback ports and a private vhost
          --relay-dll PATH          relay dll for --start-relay (default services/AstraPbx.MediaRelay/bin/Release/net10.0)
          --relay-pid PID           an already running relay's pid, for CPU and memory figures
          --relay-setting K=V       extra relay setting for --start-relay (e.g. Relay:PrepareConcurrency=64), repeatable
          --jitter-target-ms MS     the relay's Relay:JitterTargetMs (set with --start-relay; default 40)
          --rabbitmq AMQP_URL       broker (default ASTRAPBX_RABBITMQ, then .infra/env)
          --prepare-concurrency N   StartAiSession requests in flight at once (default 32)
          --ramp-rate R             start calls at R per second (default: as fast as --prepare-concurrency allows)
        """;

    public static LoadOptions Parse(string[] args)
    {
        var options = new LoadOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--calls": options.Calls = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--duration": options.DurationSeconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--warmup": options.WarmupSeconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--start-relay": options.StartRelay = true; break;
                case "--relay-dll": options.RelayDll = Next(); break;
                case "--relay-pid": options.RelayPid = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--relay-setting": options.RelaySettings.Add(Next()); break;
                case "--jitter-target-ms": options.JitterTargetMs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--rabbitmq": options.RabbitMq = Next(); break;
                case "--prepare-concurrency": options.PrepareConcurrency = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--ramp-rate": options.RampRate = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"unknown argument {args[i]}");
            }
        }

        // Bounded by design: the tool must stop by itself and stay a local benchmark.
        if (options.Calls is < 1 or > 2000 || options.DurationSeconds is <= 0 or > 600 || options.WarmupSeconds is < 0 or > 60
            || options.RampRate is < 0 or > 1000)
        {
            throw new ArgumentException("--calls must be 1-2000, --duration 0-600 s, --warmup 0-60 s, --ramp-rate 0-1000");
        }

        return options;
    }
}
