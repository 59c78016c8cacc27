using AstraPbx.Routing.Data;
using AstraPbx.Routing.Dialplan;
using AstraPbx.Testing;
using Xunit;

namespace AstraPbx.Routing.Tests;

public sealed class DialplanGeneratorTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    /// <summary>Set to regenerate the golden files after an intended change, then review the diff.</summary>
    private const string UpdateVariable = "ASTRAPBX_UPDATE_GOLDEN";

    public static string GoldenPath(string file) => Path.Combine(TestEnvironment.RepoRoot, "tests", "AstraPbx.Routing.Tests", "Golden", file);

    [Fact]
    public async Task Seed_generates_the_golden_extensions_conf_and_queues_conf()
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        var dialplan = await DialplanGenerator.GenerateAsync(db.Repository, new RoutingOptions());

        if (Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            await DialplanGenerator.WriteAsync(dialplan, Path.GetDirectoryName(GoldenPath("x"))!);
        }

        Assert.Equal(await File.ReadAllTextAsync(GoldenPath("extensions.conf")), dialplan.ExtensionsConf);
        Assert.Equal(await File.ReadAllTextAsync(GoldenPath("queues.conf")), dialplan.QueuesConf);
    }

    [Fact]
    public async Task Generated_files_keep_the_key_out_and_follow_the_asterisk_facts()
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        var dialplan = await DialplanGenerator.GenerateAsync(db.Repository, new RoutingOptions());

        Assert.DoesNotContain("ak_demo_key", dialplan.ExtensionsConf + dialplan.QueuesConf, StringComparison.Ordinal);
        Assert.DoesNotContain("ws://", dialplan.ExtensionsConf, StringComparison.Ordinal);
        Assert.Contains("Stasis(astrapbx,ai_agent,3)", dialplan.ExtensionsConf, StringComparison.Ordinal);
        Assert.Contains("n(timeout),Stasis(astrapbx,queue_timeout,1)", dialplan.ExtensionsConf, StringComparison.Ordinal);
        Assert.Contains("TryExec(AudioSocket(${AUDIOSOCKET_UUID},${AUDIOSOCKET_SERVICE}))", dialplan.ExtensionsConf, StringComparison.Ordinal);
        Assert.Contains("Stasis(astrapbx,ai_failed,${AUDIOSOCKET_UUID})", dialplan.ExtensionsConf, StringComparison.Ordinal);
        Assert.DoesNotContain("monitor-join", dialplan.QueuesConf, StringComparison.Ordinal);
        var members = dialplan.QueuesConf.Split('\n').Where(l => l.StartsWith("member => ", StringComparison.Ordinal)).ToList();
        Assert.Equal(["member => PJSIP/1001,0,Hari,PJSIP/1001", "member => PJSIP/1002,0,Surya,PJSIP/1002"], members);
        Assert.All(members, m => Assert.Equal(4, m["member => ".Length..].Split(',').Length));
    }

    [Fact]
    public async Task Output_is_the_same_whatever_order_the_rows_were_written_in()
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        var (orgs, users, queues, members) = await RowsAsync(db);
        var options = new RoutingOptions();

        var forward = DialplanGenerator.Generate(orgs, users, queues, members, options);
        var reversed = DialplanGenerator.Generate(orgs.AsEnumerable().Reverse().ToList(), users.AsEnumerable().Reverse().ToList(), queues.AsEnumerable().Reverse().ToList(), members.AsEnumerable().Reverse().ToList(), options);

        Assert.Equal(forward, reversed);
    }

    public static TheoryData<string, string, string> Injections => new()
    {
        { "user name", "users row 1: field 'name' contains a line break", "UPDATE users SET name = E'Hari\\n same => n,System' WHERE id = 1" },
        { "user name comma", "users row 2: field 'name' contains ','", "UPDATE users SET name = 'Surya,1' WHERE id = 2" },
        { "user name semicolon", "users row 1: field 'name' contains ';'", "UPDATE users SET name = 'Hari;comment' WHERE id = 1" },
        { "user name expression", "users row 1: field 'name' contains '$'", "UPDATE users SET name = '${SHELL(id)}' WHERE id = 1" },
        { "user name bracket", "users row 1: field 'name' contains '['", "UPDATE users SET name = '[evil]' WHERE id = 1" },
        { "extension", "users row 2: field 'extension' must be 1-20 digits", "UPDATE users SET extension = '1002,1,Dial(x)' WHERE id = 2" },
        { "extension pattern", "users row 2: field 'extension' must be 1-20 digits", "UPDATE users SET extension = '_X.' WHERE id = 2" },
        { "endpoint", "users row 1: field 'endpoint' must be one channel", "UPDATE users SET endpoint = 'PJSIP/1001&PJSIP/evil' WHERE id = 1" },
        { "endpoint expression", "users row 1: field 'endpoint' must be one channel", "UPDATE users SET endpoint = 'PJSIP/${EXTEN}' WHERE id = 1" },
        { "queue name", "queues row 1: field 'name' contains ')'", "UPDATE queues SET name = 'reception)' WHERE id = 1" },
        { "queue number", "queues row 1: field 'number' must be 1-20 digits", "UPDATE queues SET number = '5001;x' WHERE id = 1" },
        { "org name", "organizations row 1: field 'name' contains a line break", "UPDATE organizations SET name = E'Demo\\n[other]' WHERE id = 1" },
        { "trunk", "organizations row 1: field 'outbound_trunk' must be a PJSIP endpoint name", "UPDATE organizations SET outbound_trunk = 'trunk,60)' WHERE id = 1" },
        { "phone user", "users row 5: field 'routing_destination' must be a phone number", "INSERT INTO users (id, organization_id, extension, name, routing_type, routing_destination) VALUES (5, 1, '1005', 'Mobile', 'phone', '123,1)')" },
        { "queue number clash", "queues row 1: field 'number' repeats extension 1001 of users row 1", "UPDATE queues SET number = '1001' WHERE id = 1" },
        { "ai member", "queue_members row 1: field 'user_id' names user 3 of routing_type ai_agent", "INSERT INTO queue_members (queue_id, user_id, position) VALUES (1, 3, 3)" },
    };

    [Theory]
    [MemberData(nameof(Injections))]
    public async Task Values_that_could_inject_dialplan_are_refused_naming_the_row_and_field(string what, string expected, string change)
    {
        await using var db = await RoutingDatabase.CreateAsync(postgres);
        await db.ExecuteAsync(change);

        var error = await Assert.ThrowsAsync<DialplanValueException>(() => DialplanGenerator.GenerateAsync(db.Repository, new RoutingOptions()));

        Assert.True(error.Message.StartsWith(expected, StringComparison.Ordinal), $"{what}: {error.Message}");
    }

    [Fact]
    public void Phone_users_and_outbound_trunks_generate_goto_and_dial()
    {
        OrganizationRow[] orgs = [new(7, "Acme", "acme", "acme-trunk")];
        UserRow[] users = [new(9, 7, "acme", "2001", "Mobile", RoutingType.Phone, "+4930123", AiMediaMode.AstraPbxBinary, null, UserStatus.Active)];
        var dialplan = DialplanGenerator.Generate(orgs, users, [], [], new RoutingOptions());

        Assert.Contains("exten => 2001,1,NoOp(Mobile)\n same => n,Set(ORG_ID=7)\n same => n,Goto(acme-outbound,+4930123,1)\n", dialplan.ExtensionsConf, StringComparison.Ordinal);
        Assert.Contains("[acme-outbound]\nexten => _X.,1,Dial(PJSIP/${EXTEN}@acme-trunk,30)\n", dialplan.ExtensionsConf, StringComparison.Ordinal);
    }

    private static async Task<(List<OrganizationRow>, List<UserRow>, List<QueueRow>, List<QueueMemberRow>)> RowsAsync(RoutingDatabase db) =>
        ((await db.Repository.OrganizationsAsync(default)).ToList(), await db.Repository.UsersAsync(default), await db.Repository.QueuesAsync(default), await db.Repository.QueueMembersAsync(default));
}
