using Npgsql;

namespace AstraPbx.Routing;

/// <summary>The database, from <c>ConnectionStrings:postgres</c> (an Npgsql connection string).</summary>
public sealed class PostgresOptions
{
    public const string ConnectionStringKey = "ConnectionStrings:postgres";

    public string? ConnectionString { get; set; }

    /// <summary>Null when the connection string is usable; otherwise why not (never echoing the value: it holds a password).</summary>
    public static string? Problem(string? connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            return $"Setting '{ConnectionStringKey}' is missing.";
        }

        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            return string.IsNullOrEmpty(builder.Host)
                ? $"Setting '{ConnectionStringKey}' has no Host (expected Host=...;Port=...;Username=...;Password=...;Database=...)."
                : null;
        }
        catch (ArgumentException e)
        {
            return $"Setting '{ConnectionStringKey}' is not an Npgsql connection string: {e.Message.Split('(')[0].Trim()}";
        }
    }
}
