using System.Globalization;

namespace AstraPbx.Routing.Dialplan;

/// <summary>A value that would reach the generated files and could change their meaning.</summary>
public sealed class DialplanValueException(string table, int id, string field, string problem)
    : Exception($"{table} row {id.ToString(CultureInfo.InvariantCulture)}: field '{field}' {problem}; refusing to generate the dialplan")
{
    public string Table { get; } = table;

    public int RowId { get; } = id;

    public string Field { get; } = field;
}
