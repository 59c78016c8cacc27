using System.Net.Sockets;
using Npgsql;

namespace AstraPbx.Routing.Data;

/// <summary>Which exceptions mean "the database is unreachable or briefly unable", as opposed to a bug (bad SQL, a
/// violated constraint) that no retry fixes. A transient failure sends a call to the fallback without the database
/// and makes a record write wait and retry; anything else fails the message as before.</summary>
public static class DatabaseFailures
{
    public static bool IsTransient(Exception exception) => exception switch
    {
        PostgresException postgres => IsTransientState(postgres.SqlState),
        // Npgsql's own errors: refused or reset connections, broken streams, connect and command timeouts, an
        // exhausted pool. Npgsql marks the I/O and timeout ones transient.
        NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is IOException or SocketException or TimeoutException,
        TimeoutException or SocketException or IOException => true,
        _ => false,
    };

    // https://www.postgresql.org/docs/current/errcodes-appendix.html
    private static bool IsTransientState(string state) =>
        state.StartsWith("08", StringComparison.Ordinal) // connection exception
        || state.StartsWith("53", StringComparison.Ordinal) // insufficient resources (too many connections, out of memory, disk full)
        || state is "57P01" or "57P02" or "57P03" // admin shutdown, crash shutdown, cannot connect now: a (re)starting server
        || state is "40001" or "40P01"; // serialization failure, deadlock: the same statement succeeds when run again
}
