namespace AstraPbx.Routing.Dialplan;

/// <summary>The generated Asterisk configuration: the text of <c>extensions.conf</c> and <c>queues.conf</c>.</summary>
public sealed record GeneratedDialplan(string ExtensionsConf, string QueuesConf);
