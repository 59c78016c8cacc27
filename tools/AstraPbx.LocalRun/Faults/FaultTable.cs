using System.Text;

namespace AstraPbx.LocalRun.Faults;

/// <summary>The fault table of issue 11 in markdown: fault, calls placed, stranded, lost, time from fault to fallback
/// (p50/p99), notes; and the command that produced it.</summary>
public static class FaultTable
{
    public static string Render(IEnumerable<FaultReport> reports, string command)
    {
        var text = new StringBuilder();
        text.AppendLine("| fault | calls placed | stranded | lost | fault->fallback p50 | p99 | notes |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---|");
        foreach (var r in reports)
        {
            text.AppendLine($"| {r.Title} (`{r.Fault}`) | {r.Placed} | {r.Stranded} | {r.Lost} | {FaultReport.Seconds(r.FallbackP50)} | " +
                $"{FaultReport.Seconds(r.FallbackP99)} | {r.Summary().Replace("|", "/", StringComparison.Ordinal)} |");
        }

        text.AppendLine();
        text.AppendLine("Produced by: `" + command + "`");
        return text.ToString();
    }
}
