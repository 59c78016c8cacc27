namespace AstraPbx.LocalRun.Infrastructure;

/// <summary>Where the local broker and database are: environment variables first, then the <c>.infra/env</c> file
/// that <c>scripts/infra up</c> writes at the repository root (the first one above the running binaries).</summary>
public static class LocalEnvironment
{
    public const string RabbitMqVariable = "ASTRAPBX_RABBITMQ";
    public const string RabbitMqManagementVariable = "ASTRAPBX_RABBITMQ_MANAGEMENT";
    public const string PostgresVariable = "ASTRAPBX_POSTGRES";

    /// <summary>How to give a tool the broker and the database.</summary>
    public const string HowToStart =
        "Start the local broker and database with 'scripts/infra up' (it writes .infra/env), or set " +
        RabbitMqVariable + ", " + RabbitMqManagementVariable + " and " + PostgresVariable;

    private static readonly Lazy<IReadOnlyDictionary<string, string>> EnvFile = new(ReadEnvFile);

    /// <summary>The variable's value from the environment, else from <c>.infra/env</c>; null when neither has it.</summary>
    public static string? Get(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value
        : EnvFile.Value.TryGetValue(name, out var fromFile) ? fromFile : null;

    private static IReadOnlyDictionary<string, string> ReadEnvFile() =>
        FindEnvFile() is { } path ? ReadFile(path) : new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The <c>NAME='value'</c> lines of an env file as <c>scripts/infra up</c> writes it.</summary>
    public static IReadOnlyDictionary<string, string> ReadFile(string path)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in File.ReadAllLines(path))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (line.StartsWith('#') || eq <= 0)
            {
                continue;
            }

            values[line[..eq].Trim()] = line[(eq + 1)..].Trim().Trim('\'', '"');
        }

        return values;
    }

    private static string? FindEnvFile()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, ".infra", "env");
            if (File.Exists(path))
            {
                return path;
            }
        }

        return null;
    }
}
