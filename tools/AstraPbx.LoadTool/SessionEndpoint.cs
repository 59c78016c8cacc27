namespace AstraPbx.LoadTool;

/// <summary>Where one call's AudioSocket caller dials, and the UUID it sends.</summary>
internal readonly record struct SessionEndpoint(string Host, int Port, Guid SessionId);
