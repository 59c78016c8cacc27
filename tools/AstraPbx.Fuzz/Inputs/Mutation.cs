using CsCheck;

namespace AstraPbx.Fuzz.Inputs;

/// <summary>What a mutation does to a valid input's bytes.</summary>
internal enum MutationKind
{
    FlipBit,
    SetByte,
    Truncate,
    Insert,
    Delete,
    Duplicate,
    InsertStructural,
}

/// <summary>One byte-level change to a valid input: mutations of valid frames and messages reach far deeper into a
/// parser than noise, which most parsers refuse at the first byte. Positions are taken modulo the input's length.</summary>
internal readonly record struct Mutation(MutationKind Kind, int At, int Length, byte[] Bytes)
{
    /// <summary>Bytes that change a JSON text's structure (and an AudioSocket header's kind or length).</summary>
    private static readonly byte[] Structural = "{}[]\":,\\ 0\u0001"u8.ToArray();

    public static Gen<Mutation> Any { get; } = Gen.Select(Gen.Enum<MutationKind>(), Gen.Int[0, int.MaxValue], Gen.Int[1, 64],
        Gen.Byte.Array[1, 8], (kind, at, length, bytes) => new Mutation(kind, at, length, bytes));

    /// <summary>Valid inputs mostly mutated (one to four changes), sometimes as they are, sometimes noise.</summary>
    public static Gen<byte[]> Mutated(Gen<byte[]> valid) => Gen.Frequency(
        (2, valid),
        (6, Gen.Select(valid, Any.Array[1, 4], ApplyAll)),
        (1, Gen.Byte.Array[0, 64]));

    public static byte[] ApplyAll(byte[] input, Mutation[] mutations)
    {
        foreach (var mutation in mutations)
        {
            input = mutation.Apply(input);
        }

        return input;
    }

    public byte[] Apply(byte[] input)
    {
        if (input.Length == 0)
        {
            return Kind is MutationKind.Insert or MutationKind.InsertStructural ? Bytes : input;
        }

        var at = At % input.Length;
        var length = Math.Min(Length, input.Length - at);
        var output = input.ToList();
        switch (Kind)
        {
            case MutationKind.FlipBit:
                output[at] ^= (byte)(1 << (Length & 7));
                break;
            case MutationKind.SetByte:
                output[at] = Bytes[0];
                break;
            case MutationKind.Truncate:
                output.RemoveRange(at, input.Length - at);
                break;
            case MutationKind.Insert:
                output.InsertRange(at, Bytes);
                break;
            case MutationKind.Delete:
                output.RemoveRange(at, length);
                break;
            case MutationKind.Duplicate:
                output.InsertRange(at, input.AsSpan(at, length).ToArray());
                break;
            case MutationKind.InsertStructural:
                output.Insert(at, Structural[Bytes[0] % Structural.Length]);
                break;
        }

        return [.. output];
    }
}
