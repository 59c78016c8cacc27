namespace AstraPbx.LoadTool;

/// <summary>A run's headline figures, kept for the verdict and the one-line summary once the relay's own counts are in.</summary>
internal readonly record struct LoadSummary(
    int Calls,
    long Lost,
    long LostBeforeFirstEcho,
    double SpacingP1,
    double SpacingP99,
    double AddedP99,
    double BeyondIntendedP99,
    double? CpuPerCallMinute,
    double? KiBPerSession,
    double? ToolWakeupsPerSecond);
