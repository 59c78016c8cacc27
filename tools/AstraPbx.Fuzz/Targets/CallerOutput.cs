using System.Buffers;
using AstraPbx.Audio.AudioSocket;
using AstraPbx.Fuzz.Running;

namespace AstraPbx.Fuzz.Targets;

/// <summary>What the relay may write toward Asterisk (PROTOCOLS.md 1): whole frames, audio with a non-empty even payload,
/// and at most one 0x00, last. Asterisk ends the call on anything else. (The audio's kind follows the caller's today;
/// once the session carries its format, issue 12 item 1, every frame should have that kind.)</summary>
internal static class CallerOutput
{
    /// <param name="hungUp">True when the session's end should have written a 0x00 (the relay or the bot ended the
    /// call); false when Asterisk ended it (nothing may follow).</param>
    public static void Verify(byte[] output, bool hungUp, string reason)
    {
        var buffer = new ReadOnlySequence<byte>(output);
        var hangups = 0;
        while (AudioSocketFrameReader.TryRead(buffer, out var frame, out var consumed))
        {
            buffer = buffer.Slice(consumed);
            if (hangups > 0)
            {
                throw new FuzzFailure($"a frame of kind 0x{(byte)frame.Kind:x2} followed the 0x00 ({reason})");
            }

            if (frame.Kind == AudioSocketKind.Hangup && frame.Length == 0)
            {
                hangups++;
                continue;
            }

            if (!AudioSocketFormat.IsAudio(frame.Kind) || frame.Length == 0 || (frame.Length & 1) != 0)
            {
                throw new FuzzFailure($"the relay wrote a frame Asterisk rejects: kind 0x{(byte)frame.Kind:x2}, {frame.Length} bytes ({reason})");
            }

        }

        if (!buffer.IsEmpty)
        {
            throw new FuzzFailure($"the relay left a partial frame of {buffer.Length} bytes ({reason})");
        }

        if (hangups != (hungUp ? 1 : 0))
        {
            throw new FuzzFailure($"{hangups} hangup frames after an end by {(hungUp ? "the relay" : "Asterisk")} ({reason})");
        }
    }
}
