using AstraPbx.Contracts.Media;

namespace AstraPbx.MediaRelay.Sessions;

/// <summary>The outcome of preparing a session: exactly one of the two replies.</summary>
public sealed record PrepareResult(AiSessionReady? Ready, AiSessionFailed? Failed);
