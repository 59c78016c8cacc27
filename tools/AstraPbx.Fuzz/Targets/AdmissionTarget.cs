using System.Buffers;
using System.Buffers.Binary;
using AstraPbx.Audio.AudioSocket;
using AstraPbx.Contracts.Media;
using AstraPbx.Fuzz.Inputs;
using AstraPbx.Fuzz.Running;
using CsCheck;

namespace AstraPbx.Fuzz.Targets;

/// <summary>One connection's first bytes for a relay holding one pending session.</summary>
public sealed record AdmissionInput(Guid Session, MediaMode Mode, byte[] Bytes, int[] Chunks, StreamEnd End);

/// <summary>Admission: the frame reader (<see cref="AudioSocketFrameReader.PeekLength"/>, <see cref="AudioSocketFrameReader.TryRead"/>)
/// on the bytes cut into segments, then the relay's AudioSocket connection handler on them. Only the session's exact
/// UUID frame, first, claims it; anything else is refused with a reason and nothing is written back; a claimed call
/// ends with a caller-side reason and well-formed output.</summary>
public sealed class AdmissionTarget : FuzzTarget<AdmissionInput>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public override string Name => "admission";

    internal override uint Stream => 1;

    internal override Gen<AdmissionInput> Inputs { get; } =
        from session in Gen.Guid
        from mode in Gen.Enum<MediaMode>()
        from bytes in AudioSocketInputs.FirstBytes(session)
        from chunks in AudioSocketInputs.Chunks
        from end in Gen.Enum<StreamEnd>()
        select new AdmissionInput(session, mode, bytes, chunks, end);

    internal override string Check(AdmissionInput input)
    {
        CheckReader(input.Bytes, input.Chunks);
        var call = new InProcessCall(input.Session, input.Mode);
        call.RunAsync(input.Bytes, input.Chunks, input.End, ticks: 1, Timeout).GetAwaiter().GetResult();
        return call.Verify(input.Bytes, input.End);
    }

    internal override string Print(AdmissionInput input) =>
        $"session {input.Session}, {input.Mode}, end {input.End}, chunks [{string.Join(',', input.Chunks)}], bytes {Convert.ToHexString(input.Bytes)}";

    /// <summary>The reader agrees with the header on any cut of the bytes: a frame iff the header and the whole payload
    /// are there, its length the header's, its payload the bytes after the header, and it consumes exactly the frame.</summary>
    private static void CheckReader(byte[] bytes, int[] chunks)
    {
        var sequence = Segments.Split(bytes, chunks);
        var offset = 0;
        while (true)
        {
            var rest = bytes.AsSpan(offset);
            var peek = AudioSocketFrameReader.PeekLength(sequence);
            var read = AudioSocketFrameReader.TryRead(sequence, out var frame, out var consumed);
            if (rest.Length < AudioSocketFrameReader.HeaderLength)
            {
                if (peek != -1 || read)
                {
                    throw new FuzzFailure($"the reader saw a frame in {rest.Length} bytes (peek {peek}, read {read})");
                }

                return;
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(rest[1..]);
            if (peek != length)
            {
                throw new FuzzFailure($"PeekLength {peek} for a header announcing {length}");
            }

            var whole = rest.Length >= AudioSocketFrameReader.HeaderLength + length;
            if (read != whole)
            {
                throw new FuzzFailure($"TryRead {read} with {rest.Length} bytes buffered for a frame of {length}");
            }

            if (!read)
            {
                return;
            }

            if ((byte)frame.Kind != rest[0] || frame.Length != length
                || !frame.Payload.ToArray().AsSpan().SequenceEqual(rest.Slice(AudioSocketFrameReader.HeaderLength, length))
                || sequence.Slice(0, consumed).Length != AudioSocketFrameReader.HeaderLength + length)
            {
                throw new FuzzFailure($"TryRead returned a frame that is not the header's (kind 0x{rest[0]:x2}, {length} bytes)");
            }

            sequence = sequence.Slice(consumed);
            offset += AudioSocketFrameReader.HeaderLength + length;
        }
    }
}
