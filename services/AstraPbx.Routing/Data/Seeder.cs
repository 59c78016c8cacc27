using Npgsql;

namespace AstraPbx.Routing.Data;

/// <summary>The seed deployment's data: organisation 1 (<c>org1</c>); users 1001 Hari and 1002 Surya (sip),
/// 1003 "AI Bot" (ai_agent); queue 5001 "reception" ringing 1001 then 1002 for 15 s each and failing over to
/// extension 1003. Fixed ids (organisation 1, users 1-3, queue 1), so the seed's Stasis arguments are known:
/// <c>ai_agent,3</c> and <c>queue_timeout,1</c>. Running it again resets those rows to the seed values.</summary>
public static class Seeder
{
    /// <summary>The seed's gateway URL when none is given.</summary>
    public const string DefaultGatewayUrl = "ws://127.0.0.1:8765/ws/org-1/bot-1?key=ak_demo_key";

    public const int OrganizationId = 1;
    public const int HariUserId = 1;
    public const int SuryaUserId = 2;
    public const int AiBotUserId = 3;

    /// <summary>The same bot on a wideband route (16 kHz end to end, extension 1004).</summary>
    public const int WidebandAiBotUserId = 4;
    public const int ReceptionQueueId = 1;

    /// <summary>Writes the seed rows (the schema must exist).</summary>
    public static async Task SeedAsync(NpgsqlDataSource dataSource, string? gatewayUrl = null, CancellationToken token = default)
    {
        const string sql = """
            INSERT INTO organizations (id, name, context_prefix, outbound_trunk) VALUES (1, 'AstraPbx Demo', 'org1', NULL)
                ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, context_prefix = EXCLUDED.context_prefix, outbound_trunk = EXCLUDED.outbound_trunk;
            INSERT INTO users (id, organization_id, extension, name, routing_type, routing_destination, ai_media_mode, ai_sample_rate, endpoint, status) VALUES
                (1, 1, '1001', 'Hari', 'sip', NULL, 'astrapbx-binary', 8000, 'PJSIP/1001', 'active'),
                (2, 1, '1002', 'Surya', 'sip', NULL, 'astrapbx-binary', 8000, 'PJSIP/1002', 'active'),
                (3, 1, '1003', 'AI Bot', 'ai_agent', @gateway_url, 'astrapbx-binary', 8000, NULL, 'active'),
                (4, 1, '1004', 'AI Bot 16 kHz', 'ai_agent', @gateway_url, 'astrapbx-binary', 16000, NULL, 'active')
                ON CONFLICT (id) DO UPDATE SET organization_id = EXCLUDED.organization_id, extension = EXCLUDED.extension, name = EXCLUDED.name,
                    routing_type = EXCLUDED.routing_type, routing_destination = EXCLUDED.routing_destination, ai_media_mode = EXCLUDED.ai_media_mode,
                    ai_sample_rate = EXCLUDED.ai_sample_rate, endpoint = EXCLUDED.endpoint, status = EXCLUDED.status;
            INSERT INTO queues (id, organization_id, number, name, strategy, member_ring_seconds, max_wait_seconds, timeout_destination, timeout_destination_type)
                VALUES (1, 1, '5001', 'reception', 'linear', 15, 31, '1003', 'extension')
                ON CONFLICT (id) DO UPDATE SET organization_id = EXCLUDED.organization_id, number = EXCLUDED.number, name = EXCLUDED.name,
                    strategy = EXCLUDED.strategy, member_ring_seconds = EXCLUDED.member_ring_seconds, max_wait_seconds = EXCLUDED.max_wait_seconds,
                    timeout_destination = EXCLUDED.timeout_destination, timeout_destination_type = EXCLUDED.timeout_destination_type;
            DELETE FROM queue_members WHERE queue_id = 1;
            INSERT INTO queue_members (queue_id, user_id, position, penalty) VALUES (1, 1, 1, 0), (1, 2, 2, 0);
            SELECT setval(pg_get_serial_sequence('organizations', 'id'), GREATEST((SELECT max(id) FROM organizations), 1));
            SELECT setval(pg_get_serial_sequence('users', 'id'), GREATEST((SELECT max(id) FROM users), 1));
            SELECT setval(pg_get_serial_sequence('queues', 'id'), GREATEST((SELECT max(id) FROM queues), 1));
            """;
        await using var connection = await dataSource.OpenConnectionAsync(token);
        await using var transaction = await connection.BeginTransactionAsync(token);
        await using (var command = new NpgsqlCommand(sql, connection, transaction))
        {
            command.Parameters.AddWithValue("gateway_url", gatewayUrl ?? DefaultGatewayUrl);
            await command.ExecuteNonQueryAsync(token);
        }

        await transaction.CommitAsync(token);
    }
}
