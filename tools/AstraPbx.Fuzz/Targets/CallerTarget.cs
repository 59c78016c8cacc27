using AstraPbx.Contracts.Media;
using AstraPbx.Fuzz.Inputs;
using AstraPbx.Fuzz.Running;
using CsCheck;

namespace AstraPbx.Fuzz.Targets;

/// <summary>What Asterisk sends after its UUID frame claimed a session, and how its connection ends.</summary>
public sealed record CallerInput(MediaMode Mode, byte[] Stream, int[] Chunks, StreamEnd End, int Ticks);

/// <summary>The caller leg: a claimed session fed frames of every kind, wrong lengths, oversized headers, truncation and
/// mutations, cut anywhere, with playout ticks in between. Every input must end its session once, with a caller-side
/// reason (never <c>relay-error</c>), and leave only valid frames toward Asterisk.</summary>
public sealed class CallerTarget : FuzzTarget<CallerInput>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public override string Name => "caller";

    internal override uint Stream => 2;

    internal override Gen<CallerInput> Inputs { get; } =
        from mode in Gen.Enum<MediaMode>()
        from stream in AudioSocketInputs.CallerStream
        from chunks in AudioSocketInputs.Chunks
        from end in Gen.Enum<StreamEnd>()
        from ticks in Gen.Int[0, 3]
        select new CallerInput(mode, stream, chunks, end, ticks);

    internal override string Check(CallerInput input)
    {
        var id = Guid.NewGuid();
        byte[] bytes = [.. AudioSocketInputs.Uuid(id), .. input.Stream];
        var call = new InProcessCall(id, input.Mode);
        // The first chunk is the UUID frame: the session is claimed before the stream starts.
        call.RunAsync(bytes, [AudioSocketInputs.Uuid(id).Length, .. input.Chunks], input.End, input.Ticks, Timeout).GetAwaiter().GetResult();
        var outcome = call.Verify(bytes, input.End);
        return outcome.StartsWith("ended:", StringComparison.Ordinal) ? outcome : throw new FuzzFailure("the UUID frame was refused: " + outcome);
    }

    internal override string Print(CallerInput input) =>
        $"{input.Mode}, end {input.End}, ticks {input.Ticks}, chunks [{string.Join(',', input.Chunks)}], stream {Convert.ToHexString(input.Stream)}";
}
