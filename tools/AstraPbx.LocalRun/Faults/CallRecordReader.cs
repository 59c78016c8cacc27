using System.Diagnostics;
using Npgsql;

namespace AstraPbx.LocalRun.Faults;

/// <summary>Reads what the call records say of a scenario's calls, once the run has settled.</summary>
internal static class CallRecordReader
{
    /// <summary>Reads the calls' records until every one has its decision and its hangup, or <paramref name="settle"/>
    /// has passed (a database that does not answer yet counts as no records).</summary>
    public static async Task<IReadOnlyDictionary<string, CallRecordFacts>> SettleAsync(string postgres, string[] ids, TimeSpan settle)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(settle.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            var records = await ReadAsync(postgres, ids).ConfigureAwait(false);
            if (records.Count == ids.Length && records.Values.All(r => r.Outcome is not null && r.Ended) || Stopwatch.GetTimestamp() >= deadline)
            {
                return records;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500)).ConfigureAwait(false);
        }
    }

    private static async Task<Dictionary<string, CallRecordFacts>> ReadAsync(string postgres, string[] ids)
    {
        var records = new Dictionary<string, CallRecordFacts>(StringComparer.Ordinal);
        if (ids.Length == 0)
        {
            return records;
        }

        // No pooling: a pooled connection would outlive a database restart and fail once.
        var connectionString = new NpgsqlConnectionStringBuilder(postgres) { Pooling = false, Timeout = 5 }.ConnectionString;
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync().ConfigureAwait(false);
            await using var command = new NpgsqlCommand(
                "SELECT call_id, outcome, ended_at IS NOT NULL, hangup_cause FROM call_records WHERE call_id = ANY(@ids)", connection);
            command.Parameters.AddWithValue("ids", ids);
            await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                records[reader.GetString(0)] = new CallRecordFacts(
                    reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetBoolean(2), reader.IsDBNull(3) ? null : reader.GetInt32(3));
            }
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
        {
            records.Clear();
        }

        return records;
    }
}
