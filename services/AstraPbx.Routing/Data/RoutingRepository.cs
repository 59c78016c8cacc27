using Npgsql;

namespace AstraPbx.Routing.Data;

/// <summary>Reads the routing tables. Every call reads them afresh, so a change applies to the next call.</summary>
public sealed class RoutingRepository(NpgsqlDataSource dataSource)
{
    private const string UserColumns =
        "u.id, u.organization_id, o.context_prefix, u.extension, u.name, u.routing_type, u.routing_destination, u.ai_media_mode, u.endpoint, u.status, u.ai_sample_rate";

    private const string QueueColumns =
        "q.id, q.organization_id, o.context_prefix, q.number, q.name, q.strategy, q.member_ring_seconds, q.max_wait_seconds, " +
        "q.timeout_destination, q.timeout_destination_type, " +
        "(SELECT count(*)::int FROM queue_members m JOIN users mu ON mu.id = m.user_id WHERE m.queue_id = q.id AND mu.status = 'active')";

    public Task<UserRow?> UserByIdAsync(int id, CancellationToken token) =>
        SingleAsync($"SELECT {UserColumns} FROM users u JOIN organizations o ON o.id = u.organization_id WHERE u.id = $1", ReadUser, token, id);

    public Task<UserRow?> UserByExtensionAsync(int organizationId, string extension, CancellationToken token) =>
        SingleAsync($"SELECT {UserColumns} FROM users u JOIN organizations o ON o.id = u.organization_id WHERE u.organization_id = $1 AND u.extension = $2",
            ReadUser, token, organizationId, extension);

    /// <summary>How an AI session ended (<c>ai_session_endings</c>), or null while the relay's <c>AiSessionEnded</c> has
    /// not been recorded.</summary>
    public Task<AiSessionEndingRow?> AiSessionEndingAsync(Guid sessionId, CancellationToken token) =>
        SingleAsync("SELECT ended_by, reason FROM ai_session_endings WHERE session_id = $1",
            r => new AiSessionEndingRow(r.GetString(0), r.GetString(1)), token, sessionId);

    public Task<QueueRow?> QueueByIdAsync(int id, CancellationToken token) =>
        SingleAsync($"SELECT {QueueColumns} FROM queues q JOIN organizations o ON o.id = q.organization_id WHERE q.id = $1", ReadQueue, token, id);

    public Task<QueueRow?> QueueByNumberAsync(int organizationId, string number, CancellationToken token) =>
        SingleAsync($"SELECT {QueueColumns} FROM queues q JOIN organizations o ON o.id = q.organization_id WHERE q.organization_id = $1 AND q.number = $2",
            ReadQueue, token, organizationId, number);

    public async Task<IReadOnlyList<OrganizationRow>> OrganizationsAsync(CancellationToken token)
    {
        var rows = new List<OrganizationRow>();
        await using var command = dataSource.CreateCommand("SELECT id, name, context_prefix, outbound_trunk FROM organizations ORDER BY context_prefix, id");
        await using var reader = await command.ExecuteReaderAsync(token);
        while (await reader.ReadAsync(token))
        {
            rows.Add(new OrganizationRow(reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3)));
        }

        return rows;
    }

    public Task<List<UserRow>> UsersAsync(CancellationToken token) =>
        ListAsync($"SELECT {UserColumns} FROM users u JOIN organizations o ON o.id = u.organization_id ORDER BY u.organization_id, u.extension, u.id", ReadUser, token);

    public Task<List<QueueRow>> QueuesAsync(CancellationToken token) =>
        ListAsync($"SELECT {QueueColumns} FROM queues q JOIN organizations o ON o.id = q.organization_id ORDER BY q.organization_id, q.number, q.id", ReadQueue, token);

    public Task<List<QueueMemberRow>> QueueMembersAsync(CancellationToken token) =>
        ListAsync("SELECT queue_id, user_id, position, penalty FROM queue_members ORDER BY queue_id, position, user_id",
            r => new QueueMemberRow(r.GetInt32(0), r.GetInt32(1), r.GetInt32(2), r.GetInt32(3)), token);

    private async Task<T?> SingleAsync<T>(string sql, Func<NpgsqlDataReader, T> read, CancellationToken token, params object[] parameters)
        where T : class
    {
        await using var command = dataSource.CreateCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        await using var reader = await command.ExecuteReaderAsync(token);
        return await reader.ReadAsync(token) ? read(reader) : null;
    }

    private async Task<List<T>> ListAsync<T>(string sql, Func<NpgsqlDataReader, T> read, CancellationToken token)
    {
        var rows = new List<T>();
        await using var command = dataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync(token);
        while (await reader.ReadAsync(token))
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    private static UserRow ReadUser(NpgsqlDataReader r) => new(
        r.GetInt32(0), r.GetInt32(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5),
        r.IsDBNull(6) ? null : r.GetString(6), r.GetString(7), r.IsDBNull(8) ? null : r.GetString(8), r.GetString(9), r.GetInt32(10));

    private static QueueRow ReadQueue(NpgsqlDataReader r) => new(
        r.GetInt32(0), r.GetInt32(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetInt32(6), r.GetInt32(7),
        r.IsDBNull(8) ? null : r.GetString(8), r.GetString(9), r.GetInt32(10));
}
