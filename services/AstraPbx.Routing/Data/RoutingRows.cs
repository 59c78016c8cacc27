namespace AstraPbx.Routing.Data;

/// <summary>A row of <c>organizations</c>.</summary>
public sealed record OrganizationRow(int Id, string Name, string ContextPrefix, string? OutboundTrunk);

/// <summary>A row of <c>users</c>, with its organisation's context prefix.</summary>
public sealed record UserRow(
    int Id,
    int OrganizationId,
    string ContextPrefix,
    string Extension,
    string Name,
    string RoutingType,
    string? RoutingDestination,
    string AiMediaMode,
    string? Endpoint,
    string Status,
    int AiSampleRate = 8000)
{
    public bool IsActive => Status == UserStatus.Active;
}

/// <summary>A row of <c>queues</c>, with its organisation's context prefix and how many members could answer.</summary>
public sealed record QueueRow(
    int Id,
    int OrganizationId,
    string ContextPrefix,
    string Number,
    string Name,
    string Strategy,
    int MemberRingSeconds,
    int MaxWaitSeconds,
    string? TimeoutDestination,
    string TimeoutDestinationType,
    int ActiveMembers);

/// <summary>A row of <c>ai_session_endings</c>: who ended an AI session (<c>caller</c>, <c>gateway</c>, <c>relay</c>,
/// <c>not-claimed</c>) and the relay's reason.</summary>
public sealed record AiSessionEndingRow(string EndedBy, string Reason);

/// <summary>A row of <c>queue_members</c>.</summary>
public sealed record QueueMemberRow(int QueueId, int UserId, int Position, int Penalty);

/// <summary>Values of <c>users.routing_type</c>.</summary>
public static class RoutingType
{
    public const string Sip = "sip";
    public const string AiAgent = "ai_agent";
    public const string Phone = "phone";
}

/// <summary>Values of <c>queues.timeout_destination_type</c>.</summary>
public static class DestinationType
{
    public const string Extension = "extension";
    public const string Queue = "queue";
    public const string Phone = "phone";
    public const string None = "none";
}

/// <summary>Values of <c>users.status</c>.</summary>
public static class UserStatus
{
    public const string Active = "active";
    public const string Inactive = "inactive";
}

/// <summary>Values of <c>users.ai_media_mode</c>.</summary>
public static class AiMediaMode
{
    public const string AstraPbxBinary = "astrapbx-binary";
    public const string Twilio = "twilio";
}
