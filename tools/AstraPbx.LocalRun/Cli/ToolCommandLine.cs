using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;

namespace AstraPbx.LocalRun.Cli;

/// <summary>The tools' command lines (System.CommandLine): how they run, and the option shapes they share.</summary>
public static class ToolCommandLine
{
    /// <summary>Parses <paramref name="args"/> and runs the command they name. Bad arguments print what is wrong and
    /// the help, and return 2. The tool keeps its own Ctrl-C handling and its exceptions (System.CommandLine neither
    /// cancels nor catches), so whatever it started is still stopped on its way out.</summary>
    public static async Task<int> InvokeAsync(this RootCommand root, string[] args)
    {
        var parsed = root.Parse(args);
        if (parsed.Action is ParseErrorAction error)
        {
            error.Invoke(parsed);
            return 2;
        }

        return await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null })
            .ConfigureAwait(false);
    }

    /// <summary>A token cancelled by Ctrl-C, which no longer kills the process: the tool stops what it started on its
    /// way out.</summary>
    public static CancellationTokenSource CancelOnCtrlC()
    {
        var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        return stop;
    }

    /// <summary>An option with a default value and its line in the help (<paramref name="helpName"/>: the value's
    /// placeholder there, e.g. <c>N</c>).</summary>
    public static Option<T> NewOption<T>(string name, T defaultValue, string description, string? helpName = null) =>
        new(name) { Description = description, DefaultValueFactory = _ => defaultValue, HelpName = helpName };

    /// <summary>Rejects a value for which <paramref name="valid"/> is false, with <paramref name="message"/>.</summary>
    public static Option<T> Require<T>(this Option<T> option, Func<T, bool> valid, string message)
    {
        option.Validators.Add(result => Check(result, result.GetValueOrDefault<T>(), valid, message));
        return option;
    }

    /// <summary>Rejects a value for which <paramref name="valid"/> is false, with <paramref name="message"/>.</summary>
    public static Argument<T> Require<T>(this Argument<T> argument, Func<T, bool> valid, string message)
    {
        argument.Validators.Add(result => Check(result, result.GetValueOrDefault<T>(), valid, message));
        return argument;
    }

    private static void Check<T>(SymbolResult result, T value, Func<T, bool> valid, string message)
    {
        if (value is { } given && !valid(given))
        {
            result.AddError(message);
        }
    }

    /// <summary>A comma-separated list of call rates (<c>--rates 50,200</c>), each from 1 to <paramref name="max"/>.</summary>
    public static Option<int[]> Rates(string name, int[] defaultValue, int max, string description) =>
        new(name) { Description = description, DefaultValueFactory = _ => defaultValue, CustomParser = r => ParseRates(r, max), HelpName = "R1,R2" };

    /// <summary>The positional form of <see cref="Rates"/>.</summary>
    public static Argument<int[]> RatesArgument(string name, int[] defaultValue, int max, string description) =>
        new(name) { Description = description, DefaultValueFactory = _ => defaultValue, CustomParser = r => ParseRates(r, max), Arity = ArgumentArity.ZeroOrOne };

    /// <summary>A benchmark's command line: <c>--rates</c> (calls per second, each 1-1000, default 50,200) and
    /// <c>--seconds</c> per rate (1-60, default 10), running <paramref name="run"/> with them.</summary>
    public static RootCommand RateBenchmark(string description, Func<int[], int, Task<int>> run)
    {
        var rates = Rates("--rates", [50, 200], 1000, "calls per second, comma-separated, each run in turn (1-1000)");
        var seconds = NewOption("--seconds", 10, "seconds per rate (1-60)", "S").Require(s => s is >= 1 and <= 60, "--seconds must be 1-60");
        var root = new RootCommand(description) { rates, seconds };
        root.SetAction(parsed => run(parsed.GetValue(rates)!, parsed.GetValue(seconds)));
        return root;
    }

    private static int[] ParseRates(ArgumentResult result, int max)
    {
        var parts = result.Tokens.Count == 0 ? [] : result.Tokens[0].Value.Split(',');
        var rates = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out rates[i]) || rates[i] < 1 || rates[i] > max)
            {
                result.AddError($"{result.Argument.Name}: each rate must be a whole number of calls/s from 1 to {max} (got '{parts[i]}')");
                return [];
            }
        }

        return rates;
    }
}
