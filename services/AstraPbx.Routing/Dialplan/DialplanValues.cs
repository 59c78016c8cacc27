using System.Text.RegularExpressions;

namespace AstraPbx.Routing.Dialplan;

/// <summary>What a value must look like to be written into <c>extensions.conf</c> or <c>queues.conf</c>, and the
/// names of the generated contexts. One place, so that the generator and the resolver agree.</summary>
public static partial class DialplanValues
{
    /// <summary>The context of an organisation's users and queue extensions.</summary>
    public static string InternalContext(string contextPrefix) => contextPrefix + "-internal";

    /// <summary>The context that dials phone numbers out through the organisation's trunk.</summary>
    public static string OutboundContext(string contextPrefix) => contextPrefix + "-outbound";

    /// <summary>The queue's section name in <c>queues.conf</c> (and the <c>Queue()</c> argument).</summary>
    public static string QueueName(string contextPrefix, string number) => contextPrefix + "-queue-" + number;

    /// <summary>The dial string of a SIP user: its endpoint, or <c>PJSIP/&lt;extension&gt;</c>.</summary>
    public static string SipEndpoint(string? endpoint, string extension) => string.IsNullOrEmpty(endpoint) ? "PJSIP/" + extension : endpoint;

    /// <summary>Extensions and queue numbers: digits only, so that none is read as a pattern (<c>_</c>) or a
    /// special extension (<c>s</c>, <c>h</c>, <c>i</c>).</summary>
    public static bool IsExtension(string? value) => value is not null && ExtensionPattern().IsMatch(value);

    /// <summary>A phone number for the outbound context: an optional <c>+</c> and 3 to 20 digits.</summary>
    public static bool IsPhoneNumber(string? value) => value is not null && PhonePattern().IsMatch(value);

    /// <summary>A SIP dial string of one channel: <c>PJSIP/name</c> (also SIP/ and IAX2/); no <c>&amp;</c>, no options.</summary>
    public static bool IsEndpoint(string? value) => value is not null && EndpointPattern().IsMatch(value);

    /// <summary>A context prefix (same rule as the database's check).</summary>
    public static bool IsContextPrefix(string? value) => value is not null && PrefixPattern().IsMatch(value);

    /// <summary>A context or extension a setting names.</summary>
    public static bool IsSafeToken(string? value) => value is not null && TokenPattern().IsMatch(value);

    /// <summary>Free text (a user's or queue's name) written into <c>NoOp()</c>, a comment or a member name: null when
    /// safe, otherwise what is wrong with it. Refuses what ends a line, separates arguments or statements, opens
    /// a section or an expression: control characters, <c>, ; [ ] ( ) $ { } \ " |</c>.</summary>
    public static string? TextProblem(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "is empty";
        }

        if (value.Length > 80)
        {
            return "is longer than 80 characters";
        }

        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                return c == '\n' || c == '\r' ? "contains a line break" : "contains a control character";
            }

            if (",;[]()${}\\\"|".Contains(c, StringComparison.Ordinal))
            {
                return $"contains '{c}'";
            }
        }

        return value.Trim().Length != value.Length ? "has leading or trailing spaces" : null;
    }

    [GeneratedRegex("^[0-9]{1,20}$")]
    private static partial Regex ExtensionPattern();

    [GeneratedRegex(@"^\+?[0-9]{3,20}$")]
    private static partial Regex PhonePattern();

    [GeneratedRegex("^(PJSIP|SIP|IAX2)/[A-Za-z0-9_.-]{1,80}$")]
    private static partial Regex EndpointPattern();

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,39}$")]
    private static partial Regex PrefixPattern();

    [GeneratedRegex("^[A-Za-z0-9_+*#-]{1,80}$")]
    private static partial Regex TokenPattern();
}
