using Microsoft.Extensions.Options;

namespace AstraPbx.Routing;

/// <summary>Fails the start with <see cref="PostgresOptions.Problem"/>'s message when the connection string is unusable.</summary>
internal sealed class PostgresOptionsValidator : IValidateOptions<PostgresOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgresOptions options) =>
        PostgresOptions.Problem(options.ConnectionString) is { } problem ? ValidateOptionsResult.Fail(problem) : ValidateOptionsResult.Success;
}
