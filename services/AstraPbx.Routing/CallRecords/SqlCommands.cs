using Npgsql;
using NpgsqlTypes;

namespace AstraPbx.Routing.CallRecords;

/// <summary>Builds parameterised commands the way the record stores need them: positional parameters, timestamps
/// as UTC <c>timestamptz</c>, string arrays as <c>text[]</c>, null as <c>NULL</c>.</summary>
internal static class SqlCommands
{
    public static NpgsqlBatchCommand Batch(string sql, params object?[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(Parameter(value));
        }

        return command;
    }

    public static NpgsqlCommand Command(NpgsqlDataSource dataSource, string sql, params object?[] values)
    {
        var command = dataSource.CreateCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(Parameter(value));
        }

        return command;
    }

    private static NpgsqlParameter Parameter(object? value) => value switch
    {
        null => new NpgsqlParameter { Value = DBNull.Value },
        // timestamptz needs UTC; the messages carry offsets.
        DateTimeOffset t => new NpgsqlParameter { Value = t.ToUniversalTime(), NpgsqlDbType = NpgsqlDbType.TimestampTz },
        string[] a => new NpgsqlParameter { Value = a, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text },
        _ => new NpgsqlParameter { Value = value },
    };
}
