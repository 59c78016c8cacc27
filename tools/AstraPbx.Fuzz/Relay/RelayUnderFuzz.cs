using System.Net;
using AstraPbx.MediaRelay.Sessions;

namespace AstraPbx.Fuzz.Relay;

/// <summary>A running relay as the socket fuzz sees it: where Asterisk connects, how a session is prepared (as the
/// <c>StartAiSession</c> consumer does), and its log.</summary>
public sealed record RelayUnderFuzz(IPEndPoint AudioSocket, SessionPreparer Preparer, RelayLogCapture Logs);
