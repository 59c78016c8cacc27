namespace AstraPbx.ServiceDefaults;

/// <summary>A maintenance verb that a service runs instead of itself (<c>AstraPbx.Routing migrate</c>); see
/// <see cref="ServiceHost.RunAsync"/>.</summary>
public interface ICliCommand
{
    /// <summary>True when <paramref name="args"/> name this command's verb.</summary>
    bool IsRequested(string[] args);

    /// <summary>Runs the command; returns the process's exit code.</summary>
    Task<int> RunAsync(string[] args);
}
