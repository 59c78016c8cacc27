using System.Text.RegularExpressions;

namespace AstraPbx.Deployment.Tests;

public sealed partial class AsteriskConfigTests
{
    private const string Folder = "asterisk";

    private static IReadOnlyList<ConfLine> Conf(string file) => AsteriskConf.Parse(Repo.Read(Path.Combine(Folder, file)));

    private static string WithGenerated(string file) => AsteriskConf.WithGenerated(file);

    private static IReadOnlyList<ConfLine> Dialplan => AsteriskConf.Parse(WithGenerated("extensions.conf"));

    [Fact]
    public void Every_context_and_queue_is_defined_once_across_the_static_and_the_generated_files()
    {
        foreach (var (file, generatedSection) in new[] { ("extensions.conf", "org1-internal"), ("queues.conf", "org1-queue-5001") })
        {
            var sections = AsteriskConf.Sections(WithGenerated(file));
            Assert.True(sections.Contains(generatedSection), $"{file}: the generated sample was not included");
            Assert.Equal(sections.Distinct().ToList(), sections);
        }

        Assert.Contains("audiosocket-ai", AsteriskConf.Sections(WithGenerated("extensions.conf")));
    }

    private static IEnumerable<string> AllConfFiles =>
        Directory.GetFiles(Repo.PathOf(Folder), "*.conf", SearchOption.AllDirectories);

    [Fact]
    public void Audiosocket_ai_context_runs_AudioSocket_under_TryExec_with_the_variables_the_ingress_sets()
    {
        var steps = DialplanStep.OfContext(Dialplan, "audiosocket-ai");

        Assert.Equal(("s", "1"), (steps[0].Extension, steps[0].Priority));
        Assert.All(steps, s => Assert.Equal("s", s.Extension));
        Assert.DoesNotContain(steps, s => s.Application == "AudioSocket"); // plain AudioSocket() hangs up on a relay failure
        var tryExec = Assert.Single(steps, s => s.Application == "TryExec");
        Assert.Equal("AudioSocket(${AUDIOSOCKET_UUID},${AUDIOSOCKET_SERVICE})", tryExec.Arguments);
    }

    [Theory]
    [InlineData("FAILED", true)]   // relay reset the connection, crashed, or is not listening
    [InlineData("NOAPP", true)]    // app_audiosocket not loaded
    [InlineData("SUCCESS", false)] // relay sent its hangup frame: the bot ended the call
    public void Audiosocket_ai_context_hands_a_failed_AudioSocket_back_to_routing_and_hangs_up_a_finished_one(string tryStatus, bool backToRouting)
    {
        var executed = Run(DialplanStep.OfContext(Dialplan, "audiosocket-ai"), tryStatus);

        Assert.Equal(backToRouting, executed.Contains("Stasis(astrapbx,ai_failed,${AUDIOSOCKET_UUID})"));
        Assert.Equal("Hangup()", executed[^1]);
        Assert.Single(executed, e => e.StartsWith("TryExec(", StringComparison.Ordinal));
    }

    [Fact]
    public void Wideband_context_dials_the_audiosocket_channel_driver_at_slin16_and_keeps_the_caller_when_the_ai_leg_ends()
    {
        var steps = DialplanStep.OfContext(Dialplan, "audiosocket-ai-16");

        Assert.Equal(("s", "1"), (steps[0].Extension, steps[0].Priority));
        var dial = Assert.Single(steps, s => s.Application == "Dial");
        var fields = dial.Arguments.Split(',');
        // Asterisk's channel driver syntax: AudioSocket/host:port/uuid[/c(codec)]; Dial's options are the third field.
        Assert.Equal(["AudioSocket/${AUDIOSOCKET_SERVICE}/${AUDIOSOCKET_UUID}/c(slin16)", "", "g"], fields);
        Assert.DoesNotContain(steps, s => s.Application is "AudioSocket" or "TryExec");
    }

    [Theory]
    [InlineData("ANSWER", "Stasis(astrapbx,ai_ended,${AUDIOSOCKET_UUID})")]      // the AI leg ran and ended: Routing asks the relay's ending
    [InlineData("CHANUNAVAIL", "Stasis(astrapbx,ai_failed,${AUDIOSOCKET_UUID})")] // the relay could not be reached
    [InlineData("CONGESTION", "Stasis(astrapbx,ai_failed,${AUDIOSOCKET_UUID})")]
    public void Wideband_context_hands_every_ended_ai_leg_back_to_routing(string dialStatus, string stasis)
    {
        var executed = Run(DialplanStep.OfContext(Dialplan, "audiosocket-ai-16"), dialStatus);

        Assert.Single(executed, e => e.StartsWith("Stasis(", StringComparison.Ordinal));
        Assert.Contains(stasis, executed);
        Assert.Equal("Hangup()", executed[^1]);
    }

    [Fact]
    public void Dialplan_and_queues_include_the_generated_files_that_the_entrypoint_requires()
    {
        var extensions = AsteriskConf.Includes(Repo.Read("asterisk/extensions.conf"));
        var queues = AsteriskConf.Includes(Repo.Read("asterisk/queues.conf"));
        // Routing's `dialplan --out DIR` writes DIR/extensions.conf and DIR/queues.conf.
        Assert.Equal(["generated/extensions.conf"], extensions);
        Assert.Equal(["generated/queues.conf"], queues);

        var entrypoint = Repo.Read("asterisk/docker-entrypoint.sh");
        Assert.Contains("for generated in extensions.conf queues.conf; do", entrypoint, StringComparison.Ordinal);
        Assert.Contains("etc=\"${ASTERISK_ETC:-/etc/asterisk}\"", entrypoint, StringComparison.Ordinal);
        Assert.Contains("if [ ! -f \"$etc/generated/$generated\" ]", entrypoint, StringComparison.Ordinal);

        Assert.Contains("VOLUME /etc/asterisk/generated", Repo.Read("asterisk/Dockerfile"), StringComparison.Ordinal);
    }

    [Fact]
    public void Queue_settings_have_no_monitor_join_and_static_members_take_exactly_four_fields()
    {
        var texts = AllConfFiles.Select(f => (Path.GetFileName(f), File.ReadAllText(f))).Append(("queues.conf + generated", WithGenerated("queues.conf"))).ToList();
        var members = 0;
        foreach (var (name, text) in texts)
        {
            var lines = AsteriskConf.Parse(text);
            Assert.DoesNotContain(lines, l => l.Key == "monitor-join");
            foreach (var member in lines.Where(l => l.Key == "member"))
            {
                members++;
                Assert.True(member.Value.Split(',').Length == 4, $"{name} line {member.Number}: member needs interface,penalty,membername,state_interface");
            }
        }

        Assert.True(members >= 2, "the generated sample's queue 5001 members were not checked");
    }

    [Fact]
    public void Sample_phones_register_with_auth_and_start_in_the_seed_organisations_generated_context()
    {
        var pjsip = AsteriskConf.Parse(Repo.Read("asterisk/templates/pjsip.conf"));
        // Routing generates [<context_prefix>-internal] per organisation; the seed organisation's prefix is org1.
        var context = pjsip.Single(l => l.Section == "phone-template" && l.Key == "context").Value;
        Assert.Equal("org1-internal", context);
        var phonesCan = DialplanStep.OfContext(Dialplan, context);
        Assert.Contains(phonesCan, s => s.Application == "Dial" && s.Arguments.StartsWith("PJSIP/1002,", StringComparison.Ordinal));
        Assert.Contains(phonesCan, s => s.Extension == "5001" && s.Application == "Queue");
        Assert.Contains(phonesCan, s => s.Extension == "1003" && s.Application == "Stasis");
        foreach (var phone in new[] { "1001", "1002" })
        {
            var lines = pjsip.Where(l => l.Section == phone).ToList();
            Assert.Contains(lines, l => l.Key == "auth" && l.Value == phone);
            Assert.Contains(lines, l => l.Key == "aors" && l.Value == phone);
            Assert.Contains(lines, l => l.Key == "username" && l.Value == phone);
            Assert.Contains(lines, l => l.Key == "password" && l.Value == "${SIP_" + phone + "_PASSWORD}");
        }

        Assert.Contains(pjsip, l => l.Section == "transport-udp" && l.Key == "bind" && l.Value == "0.0.0.0:5060");
    }

    [Fact]
    public void Modules_conf_requires_the_modules_the_product_uses()
    {
        var required = Conf("modules.conf").Where(l => l.Section == "modules" && l.Key == "require").Select(l => l.Value).ToHashSet();
        string[] needed =
        [
            "res_ari.so", "res_ari_channels.so", "res_ari_applications.so", "res_ari_events.so", "res_ari_model.so",
            "res_http_websocket.so", "res_stasis.so", "res_stasis_answer.so", "app_stasis.so",
            "app_audiosocket.so", "res_audiosocket.so", "chan_audiosocket.so",
            "app_exec.so", "app_queue.so", "app_dial.so", "pbx_config.so", "res_pjsip.so", "chan_pjsip.so",
        ];
        Assert.All(needed, m => Assert.Contains(m, required));
        var noload = Conf("modules.conf").Where(l => l.Key == "noload").Select(l => l.Value);
        Assert.Empty(required.Intersect(noload));

        // The image builds what the configuration requires.
        var dockerfile = Repo.Read("asterisk/Dockerfile");
        foreach (var module in new[] { "app_audiosocket", "res_audiosocket", "chan_audiosocket", "res_ari", "app_queue", "app_exec" })
        {
            Assert.Contains("--enable " + module, dockerfile, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Passwords_come_from_templates_rendered_from_the_environment_never_from_a_file()
    {
        // Static files hold no password at all.
        foreach (var file in AllConfFiles.Where(f => !f.Contains("/templates/", StringComparison.Ordinal)))
        {
            Assert.DoesNotContain(AsteriskConf.Parse(File.ReadAllText(file)), l => l.Key is "password" or "secret");
        }

        var entrypoint = Repo.Read("asterisk/docker-entrypoint.sh");
        var substituted = EnvsubstList().Match(entrypoint);
        Assert.True(substituted.Success, "the entrypoint does not limit envsubst to named variables");
        var composeEnv = Compose.Environment(Compose.Service("asterisk"));
        var passwords = 0;
        foreach (var template in Directory.GetFiles(Repo.PathOf("asterisk/templates"), "*.conf"))
        {
            foreach (var line in AsteriskConf.Parse(File.ReadAllText(template)).Where(l => l.Key == "password"))
            {
                passwords++;
                Assert.Matches(@"^\$\{[A-Z0-9_]+\}$", line.Value);
            }

            foreach (Match variable in TemplateVariable().Matches(File.ReadAllText(template)))
            {
                var name = variable.Groups[1].Value;
                Assert.Contains("${" + name + "}", substituted.Groups[1].Value, StringComparison.Ordinal);
                Assert.Matches($@"for name in [^\n]*\b{name}\b", entrypoint); // checked to be set before rendering
                Assert.True(composeEnv.ContainsKey(name), $"compose gives asterisk no {name}");
            }
        }

        Assert.True(passwords >= 3, "expected the ARI user and the two sample phones");
        var ari = AsteriskConf.Parse(Repo.Read("asterisk/templates/ari.conf"));
        Assert.Contains(ari, l => l.Section == "${ARI_USERNAME}" && l.Key == "type" && l.Value == "user");
        Assert.Contains(ari, l => l.Section == "general" && l.Key == "enabled" && l.Value == "yes");
    }

    [Fact]
    public void Asterisk_image_ships_the_configuration_and_exposes_sip_and_ari()
    {
        var dockerfile = Repo.Read("asterisk/Dockerfile");
        Assert.Matches(@"(?m)^FROM debian:", dockerfile);
        Assert.Contains("COPY --chown=asterisk:asterisk *.conf /etc/asterisk/", dockerfile, StringComparison.Ordinal);
        Assert.Contains("COPY --chown=asterisk:asterisk templates/ /etc/asterisk/templates/", dockerfile, StringComparison.Ordinal);
        Assert.Contains("ENTRYPOINT [\"/usr/local/bin/docker-entrypoint.sh\"]", dockerfile, StringComparison.Ordinal);
        var expose = Assert.Single(Regex.Matches(dockerfile, @"(?m)^EXPOSE (.*)$")).Groups[1].Value.Split(' ');
        Assert.Contains("5060/udp", expose);
        Assert.Contains("8088/tcp", expose);
        if (!OperatingSystem.IsWindows())
        {
            Assert.True(File.GetUnixFileMode(Repo.PathOf("asterisk/docker-entrypoint.sh")).HasFlag(UnixFileMode.UserExecute), "entrypoint is not executable");
        }

        var rtp = Conf("rtp.conf");
        var start = rtp.Single(l => l.Key == "rtpstart").Value;
        var end = rtp.Single(l => l.Key == "rtpend").Value;
        Assert.Contains($"{start}-{end}/udp", expose);
        Assert.Contains($"{start}-{end}:{start}-{end}/udp", Compose.Service("asterisk").List("ports").Cast<string>());
    }

    /// <summary>Walks one extension's steps with TRYSTATUS set as TryExec would leave it; returns the applications run.</summary>
    private static List<string> Run(IReadOnlyList<DialplanStep> steps, string tryStatus)
    {
        var executed = new List<string>();
        for (var i = 0; i < steps.Count && executed.Count < 50; i++)
        {
            var step = steps[i];
            executed.Add($"{step.Application}({step.Arguments})");
            // Stasis hands the channel to Routing, which moves it on (continue) or hangs it up; when the application
            // is not registered Stasis returns at once and the dialplan must still end the call, not leave it silent.
            if (step.Application == "Hangup")
            {
                return executed;
            }

            if (step.Application == "GotoIf")
            {
                var condition = GotoIfTryStatus().Match(step.Arguments);
                Assert.True(condition.Success, "unsupported GotoIf: " + step.Arguments);
                var holds = (condition.Groups[2].Value == tryStatus) == (condition.Groups[1].Value == "=");
                var target = holds ? condition.Groups[3].Value : condition.Groups[4].Value;
                if (target.Length > 0)
                {
                    i = steps.ToList().FindIndex(s => s.Label == target) - 1;
                    Assert.True(i >= -1, "GotoIf to a missing label " + target);
                }
            }
        }

        return executed;
    }

    [GeneratedRegex(@"^\$\[""\$\{(?:TRYSTATUS|DIALSTATUS)\}"" (!?=) ""(\w+)""\]\?(\w*)(?::(\w*))?$")]
    private static partial Regex GotoIfTryStatus();

    [GeneratedRegex(@"envsubst '([^']*)'")]
    private static partial Regex EnvsubstList();

    [GeneratedRegex(@"\$\{([A-Za-z0-9_]+)\}")]
    private static partial Regex TemplateVariable();
}
